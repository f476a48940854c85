"""Cooldown store behaviour that needs no DynamoDB: the disabled store, the in-memory fake and
argument checks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from inventory.data.cooldowns import (
    Claim,
    ClaimOutcome,
    CooldownStore,
    dynamodb,
)
from inventory.data.cooldowns.disabled import DisabledCooldownStore
from inventory.data.cooldowns.dynamodb import DynamoCooldownStore
from inventory.rules.alert_types import CooldownKey, NotificationType
from tests.support.claims import claim_and_confirm
from tests.support.fakes import InMemoryCooldownStore

NOW = datetime(2025, 10, 21, 12, 0, tzinfo=UTC)


class _NoClient:
    """Any call to DynamoDB is a test failure."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"DynamoDB was called: {name}")


def _store(window: timedelta = timedelta(hours=1)) -> DynamoCooldownStore:
    return DynamoCooldownStore("table", window, client=_NoClient())  # type: ignore[arg-type]


def test_disabled_store_claims_every_key_every_time() -> None:
    store: CooldownStore = DisabledCooldownStore()
    keys = [CooldownKey(kind, uuid.uuid4()) for kind in NotificationType]

    first = store.claim_many(keys, NOW)
    second = store.claim_many(keys, NOW)

    assert [c.key for c in first] == keys
    assert {c.outcome for c in first + second} == {ClaimOutcome.CLAIMED}


def test_disabled_store_has_no_entries_to_count_or_clear() -> None:
    store = DisabledCooldownStore()
    store.claim_many([CooldownKey(NotificationType.PACKAGE_LOW_STOCK, uuid.uuid4())], NOW)

    assert store.stats(NOW) == {}
    assert store.clear() == 0
    store.release([])
    key = CooldownKey(NotificationType.PACKAGE_LOW_STOCK, uuid.uuid4())
    assert store.rearm([key, key], NOW) == [key]
    store.ping()


@pytest.mark.parametrize("window", [timedelta(0), timedelta(hours=-1)])
def test_dynamo_store_refuses_a_window_that_is_not_positive(window: timedelta) -> None:
    with pytest.raises(ValueError, match="positive"):
        _store(window)


def test_claims_need_a_timezone_aware_clock() -> None:
    key = CooldownKey(NotificationType.PACKAGE_LOW_STOCK, uuid.uuid4())

    with pytest.raises(ValueError, match="timezone-aware"):
        _store().claim_many([key], datetime(2025, 10, 21, 12, 0))


def test_rearm_needs_a_timezone_aware_clock_before_any_call() -> None:
    key = CooldownKey(NotificationType.PACKAGE_LOW_STOCK, uuid.uuid4())

    with pytest.raises(ValueError, match="timezone-aware"):
        _store().rearm([key], datetime(2025, 10, 21, 12, 0))


def test_nothing_to_claim_release_or_rearm_makes_no_call() -> None:
    store = _store()
    key = CooldownKey(NotificationType.PACKAGE_LOW_STOCK, uuid.uuid4())

    assert store.claim_many([], NOW) == []
    store.release([Claim(key, ClaimOutcome.SUPPRESSED), Claim(key, ClaimOutcome.FAILED)])
    assert store.rearm([], NOW) == []


def test_rearm_without_a_client_settles_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def unbuildable() -> object:
        raise ValueError("Invalid endpoint: nowhere")

    monkeypatch.setattr(dynamodb, "create_dynamodb_client", unbuildable)
    store = DynamoCooldownStore("table", timedelta(hours=1))
    key = CooldownKey(NotificationType.PACKAGE_LOW_STOCK, uuid.uuid4())

    assert store.rearm([key], NOW) == []


def test_the_in_memory_fake_rearms_windows_but_not_live_leases() -> None:
    store = InMemoryCooldownStore()
    confirmed = [CooldownKey(NotificationType.PACKAGE_LOW_STOCK, uuid.uuid4()) for _ in range(2)]
    leased = [CooldownKey(NotificationType.PACKAGE_UNAVAILABLE, uuid.uuid4()) for _ in range(2)]
    claim_and_confirm(store, confirmed, NOW)
    store.claim_many(leased, NOW)
    lapsed = CooldownKey(NotificationType.PACKAGE_UNAVAILABLE, uuid.uuid4())
    store.claim_many([lapsed], NOW - store.lease)  # a lease that ended unconfirmed
    rearmed = [confirmed[0], leased[0], lapsed, confirmed[0]]

    # The live lease is left alone and not settled: its run may yet confirm it.
    assert store.rearm(rearmed, NOW) == [confirmed[0], lapsed]

    assert set(store.entries) == {confirmed[1], *leased}
    assert store.rearmed == rearmed
    claims = store.claim_many([confirmed[0], lapsed, leased[0], confirmed[1], leased[1]], NOW)
    assert [c.outcome for c in claims] == [ClaimOutcome.CLAIMED] * 2 + [ClaimOutcome.SUPPRESSED] * 3


def test_partition_key_names_type_and_reference() -> None:
    reference = uuid.UUID("00000000-0000-0000-0000-000000000001")

    key = CooldownKey(NotificationType.PACKAGE_BOTTLENECK, reference)

    assert DynamoCooldownStore.partition_key(key) == f"package_bottleneck#{reference}"
