"""Each function's IAM policy grants every DynamoDB operation its code path really calls.

The operations are recorded from real calls against moto (a botocore hook), so a new call in
the cooldown store (e.g. a BatchGetItem pre-read) fails here until the template grants it,
instead of failing with AccessDenied in AWS.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from inventory.data.cooldowns import Confirmation
from inventory.data.cooldowns.dynamodb import DynamoCooldownStore
from inventory.rules.alert_types import CooldownKey, NotificationType
from tests.support.dynamo import dynamodb_client, load_template

NOW = datetime(2025, 10, 21, 12, 0, tzinfo=UTC)
KEYS = [CooldownKey(NotificationType.PACKAGE_UNAVAILABLE, uuid.uuid4()) for _ in range(3)]


def _granted(function: str) -> set[str]:
    policies = load_template()["Resources"][function]["Properties"].get("Policies", [])
    granted: set[str] = set()
    for policy in policies:
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            actions = statement["Action"]
            for action in [actions] if isinstance(actions, str) else actions:
                service, _, name = action.partition(":")
                if service == "dynamodb":
                    granted.add(name)
    return granted


def _monitor(store: DynamoCooldownStore) -> None:
    claims = store.claim_many(KEYS[:2], NOW)  # cold: conditional writes
    store.confirm([Confirmation(claims[0], since=NOW)], NOW)  # an update, then the digest
    store.claim_many(KEYS, NOW)  # warm: live keys are read first
    # An episode resolved: conditional deletes (a window; live leases left alone, not
    # settled), the bump, the digest rewritten (BatchWriteItem).
    assert store.rearm(KEYS[::2], NOW) == [KEYS[0]]
    store.release(claims)


def _manual_check(store: DynamoCooldownStore) -> None:
    _monitor(store)
    store.stats(NOW)


@pytest.mark.parametrize(
    ("function", "work"),
    [
        ("InventoryMonitorFunction", _monitor),
        ("NotificationsCheckFunction", _manual_check),
        ("CooldownsClearFunction", None),
        ("HealthFunction", lambda store: store.ping()),
    ],
)
def test_policy_grants_every_operation_the_code_calls(
    cooldown_table: str, moto_endpoint: str, function: str, work: Callable[[Any], None] | None
) -> None:
    client = dynamodb_client(moto_endpoint)
    store = DynamoCooldownStore(cooldown_table, timedelta(hours=24), client=client)
    if work is None:  # clearing needs entries to delete, claimed before recording starts
        store.claim_many(KEYS, NOW)
        work = _clear
    used: set[str] = set()
    client.meta.events.register("before-call.dynamodb", lambda model, **_: used.add(model.name))
    work(store)
    assert used, "the hook recorded nothing"
    assert used <= _granted(function), f"{function} lacks {sorted(used - _granted(function))}"


def _clear(store: DynamoCooldownStore) -> None:
    store.clear(type=NotificationType.PACKAGE_UNAVAILABLE, reference_id=KEYS[0].reference_id)
    store.clear(type=NotificationType.PACKAGE_UNAVAILABLE)
    store.clear()
