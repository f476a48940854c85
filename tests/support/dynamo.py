"""The cooldown table in moto, created from template.yaml's own `CooldownTable` properties.

The key schema and the TTL attribute have one source of truth: the template. A test table
differs only in its name, so tests running side by side never share entries.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devtools.template import load_yaml

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"
COOLDOWN_TABLE = "CooldownTable"
# The create_table arguments whose CloudFormation and API shapes are the same.
_CREATE_ARGUMENTS = ("AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput")


def load_template() -> dict[str, Any]:
    """template.yaml as plain data; `!Ref X` reads as {"Ref": "X"} (devtools' own reader)."""
    return load_yaml(TEMPLATE_PATH)


@cache
def table_properties(logical_id: str = COOLDOWN_TABLE) -> dict[str, Any]:
    """The Properties of one table resource in template.yaml."""
    resource = load_template()["Resources"][logical_id]
    assert resource["Type"] == "AWS::DynamoDB::Table", resource["Type"]
    properties: dict[str, Any] = resource["Properties"]
    return properties


def dynamodb_client(endpoint_url: str) -> DynamoDBClient:
    import boto3

    return boto3.client("dynamodb", endpoint_url=endpoint_url)


def create_cooldown_table(
    client: DynamoDBClient, table_name: str, logical_id: str = COOLDOWN_TABLE
) -> None:
    """A table shaped exactly like the template's CooldownTable (or `logical_id`), TTL
    included."""
    properties = table_properties(logical_id)
    arguments = {key: properties[key] for key in _CREATE_ARGUMENTS if key in properties}
    client.create_table(TableName=table_name, **arguments)
    client.get_waiter("table_exists").wait(TableName=table_name)
    ttl = properties.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )


_atomic_lock = threading.Lock()
_atomic_done = False


def make_moto_dynamodb_writes_atomic() -> None:
    """Serialise moto's item writes, as DynamoDB serialises writes to one item.

    moto checks a ConditionExpression and then stores the item without a lock, so two
    requests served by its threads can both pass the check: a race of the emulator that real
    DynamoDB does not have. Patched in the process that runs the moto server.
    """
    global _atomic_done
    with _atomic_lock:
        if _atomic_done:
            return
        from moto.dynamodb.models import DynamoDBBackend

        write_lock = threading.RLock()
        for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
            original = getattr(DynamoDBBackend, name)

            def locked(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
                with write_lock:
                    return __original(*args, **kwargs)

            setattr(DynamoDBBackend, name, locked)
        _atomic_done = True
