"""template.yaml's cooldown table and cron secret match what the code expects of them."""

from __future__ import annotations

from typing import Any

from inventory.data.cooldowns.dynamodb_client import PARTITION_KEY, TTL_ATTRIBUTE
from tests.support import dynamo


def _template() -> dict[str, Any]:
    return dynamo.load_template()


def test_cooldown_table_is_keyed_the_way_the_store_writes_items() -> None:
    properties = dynamo.table_properties()

    assert properties["KeySchema"] == [{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}]
    assert properties["AttributeDefinitions"] == [
        {"AttributeName": PARTITION_KEY, "AttributeType": "S"}
    ]


def test_cooldown_table_expires_entries_through_ttl_on_expires_at() -> None:
    properties = dynamo.table_properties()

    assert properties["TimeToLiveSpecification"] == {
        "AttributeName": TTL_ATTRIBUTE,
        "Enabled": True,
    }


def test_cooldown_table_is_on_demand_encrypted_and_recoverable() -> None:
    properties = dynamo.table_properties()

    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_every_function_is_told_the_cooldown_table_name() -> None:
    variables = _template()["Globals"]["Function"]["Environment"]["Variables"]

    assert variables["COOLDOWN_TABLE_NAME"] == {"Ref": "CooldownTable"}


def test_cron_secret_is_generated_never_written_in_the_template() -> None:
    secret = _template()["Resources"]["CronSecret"]

    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert "SecretString" not in secret["Properties"]
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32


def test_a_claim_lease_outlives_every_run_that_can_hold_it() -> None:
    """A lease that ended under a live run would let a second run send the same alert."""
    template = _template()
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    lease = int(variables["MONITOR_CLAIM_LEASE_SECONDS"])
    statement = int(variables["DB_STATEMENT_TIMEOUT_MS"]) / 1000
    claimers = ["InventoryMonitorFunction", "NotificationsCheckFunction"]
    for name in claimers:
        timeout = template["Resources"][name]["Properties"]["Timeout"]
        assert lease > timeout + statement, name
