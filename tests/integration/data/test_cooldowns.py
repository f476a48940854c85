"""The DynamoDB cooldown store against moto's server over HTTP, table built from template.yaml."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from inventory.data.cooldowns import (
    Claim,
    ClaimOutcome,
    Confirmation,
    get_cooldown_store,
)
from inventory.data.cooldowns.disabled import DisabledCooldownStore
from inventory.data.cooldowns.dynamodb import DynamoCooldownStore
from inventory.data.cooldowns.dynamodb_client import PARTITION_KEY
from inventory.errors import DependencyUnavailableError
from inventory.rules.alert_types import CooldownKey, NotificationType
from tests.support import dynamo, services
from tests.support.claims import claim_and_confirm
from tests.support.fakes import DeadlineAfter

NOW = datetime(2025, 10, 21, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=24)


def key(kind: NotificationType = NotificationType.PACKAGE_LOW_STOCK) -> CooldownKey:
    return CooldownKey(kind, uuid.uuid4())


@pytest.fixture
def client(moto_endpoint: str) -> Any:
    return dynamo.dynamodb_client(moto_endpoint)


@pytest.fixture
def store(cooldown_table: str) -> DynamoCooldownStore:
    # No client given: the store builds its own, reaching moto through AWS_ENDPOINT_URL_DYNAMODB.
    return DynamoCooldownStore(cooldown_table, WINDOW)


def items(client: Any, table: str) -> list[dict[str, Any]]:
    """The cooldown entries (the digest's items have no type attribute)."""
    scanned = cast(list[dict[str, Any]], client.scan(TableName=table)["Items"])
    return [item for item in scanned if "type" in item]


def put_entry(client: Any, table: str, entry: CooldownKey, expires_at: datetime) -> None:
    client.put_item(
        TableName=table,
        Item={
            PARTITION_KEY: {"S": f"{entry.type.value}#{entry.reference_id}"},
            "type": {"S": entry.type.value},
            "reference_id": {"S": str(entry.reference_id)},
            "token": {"S": "someone-else"},
            "expires_at": {"N": str(int(expires_at.timestamp()))},
        },
    )


def outcomes(claims: list[Claim]) -> list[ClaimOutcome]:
    return [claim.outcome for claim in claims]


def test_claim_writes_one_item_with_ttl_in_epoch_seconds(
    store: DynamoCooldownStore, client: Any, cooldown_table: str
) -> None:
    entry = key(NotificationType.PACKAGE_UNAVAILABLE)

    [claim] = store.claim_many([entry], NOW)

    assert claim.outcome is ClaimOutcome.CLAIMED
    assert claim.token
    [item] = items(client, cooldown_table)
    assert item[PARTITION_KEY] == {"S": f"package_unavailable#{entry.reference_id}"}
    assert item["type"] == {"S": "package_unavailable"}
    assert item["reference_id"] == {"S": str(entry.reference_id)}
    assert item["token"] == {"S": claim.token}
    # A lease until the notification is committed, then the whole window from the claim.
    assert item["phase"] == {"S": "lease"}
    assert item["expires_at"] == {"N": str(int((NOW + store.lease).timestamp()))}
    assert datetime.fromisoformat(item["claimed_at"]["S"]) == NOW

    store.confirm([Confirmation(claim, since=NOW)], NOW + timedelta(seconds=2))

    [item] = items(client, cooldown_table)
    assert item["phase"] == {"S": "cooldown"}
    assert item["expires_at"] == {"N": str(int((NOW + WINDOW).timestamp()))}


def test_second_claim_inside_the_window_is_suppressed(store: DynamoCooldownStore) -> None:
    entry = key()
    claim_and_confirm(store, [entry], NOW)

    [again] = store.claim_many([entry], NOW + WINDOW - timedelta(seconds=1))

    assert again.outcome is ClaimOutcome.SUPPRESSED
    assert again.token is None
    assert again.error is None


def test_claim_succeeds_again_once_the_window_has_passed(store: DynamoCooldownStore) -> None:
    entry = key()
    [first] = store.claim_many([entry], NOW)

    [later] = store.claim_many([entry], NOW + WINDOW)

    assert later.outcome is ClaimOutcome.CLAIMED
    assert later.token != first.token


def test_expired_item_dynamodb_has_not_deleted_yet_does_not_block(
    store: DynamoCooldownStore, client: Any, cooldown_table: str
) -> None:
    entry = key()
    put_entry(client, cooldown_table, entry, expires_at=NOW - timedelta(minutes=5))

    [claim] = store.claim_many([entry], NOW)

    assert claim.outcome is ClaimOutcome.CLAIMED
    [item] = items(client, cooldown_table)
    assert item["token"] == {"S": claim.token}


def test_live_item_written_by_another_writer_blocks(
    store: DynamoCooldownStore, client: Any, cooldown_table: str
) -> None:
    entry = key()
    put_entry(client, cooldown_table, entry, expires_at=NOW + timedelta(minutes=5))

    assert outcomes(store.claim_many([entry], NOW)) == [ClaimOutcome.SUPPRESSED]


def test_claim_many_answers_in_input_order(store: DynamoCooldownStore) -> None:
    keys = [key(kind) for kind in NotificationType for _ in range(3)]
    held = keys[1::2]
    store.claim_many(held, NOW)

    claims = store.claim_many(keys, NOW)

    assert [claim.key for claim in claims] == keys
    assert outcomes(claims) == [
        ClaimOutcome.SUPPRESSED if k in held else ClaimOutcome.CLAIMED for k in keys
    ]


class _RendezvousClient:
    """Delegates to a real client, but each put_item waits until `parties` are in flight:
    claims made one after another would never meet, and the barrier would break."""

    def __init__(self, client: Any, parties: int) -> None:
        self._client = client
        self._barrier = threading.Barrier(parties, timeout=10)

    def put_item(self, **kwargs: Any) -> Any:
        self._barrier.wait()
        return self._client.put_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_claim_many_sends_the_claims_concurrently(cooldown_table: str, client: Any) -> None:
    keys = [key() for _ in range(4)]
    rendezvous = cast(Any, _RendezvousClient(client, parties=len(keys)))
    store = DynamoCooldownStore(cooldown_table, WINDOW, client=rendezvous)

    assert outcomes(store.claim_many(keys, NOW)) == [ClaimOutcome.CLAIMED] * len(keys)


def _race(stores: list[DynamoCooldownStore], entry: CooldownKey) -> list[ClaimOutcome]:
    """Every store claims `entry` at the same moment, each from its own thread and client."""
    start = threading.Barrier(len(stores), timeout=10)

    def contend(store: DynamoCooldownStore) -> ClaimOutcome:
        start.wait()
        return store.claim_many([entry], NOW)[0].outcome

    for store in stores:
        store.ping()  # builds each client before the start line
    with ThreadPoolExecutor(max_workers=len(stores)) as pool:
        return list(pool.map(contend, stores))


def test_many_stores_claiming_one_key_at_once_yield_exactly_one_claim(
    cooldown_table: str,
) -> None:
    contenders = 16
    stores = [DynamoCooldownStore(cooldown_table, WINDOW) for _ in range(contenders)]

    for _ in range(5):
        results = _race(stores, key())

        assert results.count(ClaimOutcome.CLAIMED) == 1
        assert results.count(ClaimOutcome.SUPPRESSED) == contenders - 1


def test_release_deletes_our_entry_so_the_next_claim_succeeds(
    store: DynamoCooldownStore, client: Any, cooldown_table: str
) -> None:
    entry = key()
    claims = store.claim_many([entry], NOW)

    store.release(claims)

    assert items(client, cooldown_table) == []
    assert outcomes(store.claim_many([entry], NOW)) == [ClaimOutcome.CLAIMED]


def test_release_never_deletes_a_newer_entry_of_someone_else(
    store: DynamoCooldownStore, client: Any, cooldown_table: str
) -> None:
    entry = key()
    [ours] = store.claim_many([entry], NOW)
    # Our entry expired and another run claimed the key before we got round to releasing.
    [theirs] = store.claim_many([entry], NOW + WINDOW)

    store.release([ours])

    [item] = items(client, cooldown_table)
    assert item["token"] == {"S": theirs.token}
    assert outcomes(store.claim_many([entry], NOW + WINDOW)) == [ClaimOutcome.SUPPRESSED]


def test_release_leaves_suppressed_claims_alone(
    store: DynamoCooldownStore, client: Any, cooldown_table: str
) -> None:
    entry = key()
    store.claim_many([entry], NOW)
    suppressed = store.claim_many([entry], NOW)

    store.release(suppressed)

    assert len(items(client, cooldown_table)) == 1


def test_stats_count_live_entries_only_by_type(
    store: DynamoCooldownStore, client: Any, cooldown_table: str
) -> None:
    store.claim_many(
        [key(NotificationType.PACKAGE_LOW_STOCK) for _ in range(3)]
        + [key(NotificationType.PACKAGE_BOTTLENECK) for _ in range(2)],
        NOW,
    )
    put_entry(
        client, cooldown_table, key(NotificationType.STOCKOUT_PREDICTED), NOW - timedelta(hours=1)
    )

    assert store.stats(NOW) == {"package_low_stock": 3, "package_bottleneck": 2}
    assert store.stats(NOW + WINDOW) == {}


def test_stats_read_every_page(cooldown_table: str, client: Any) -> None:
    # A tiny page size forces the paginator through many Scan pages.
    class SmallPages:
        def get_paginator(self, name: str) -> Any:
            real = client.get_paginator(name)

            class Paginator:
                def paginate(self, **kwargs: Any) -> Any:
                    return real.paginate(**kwargs, PaginationConfig={"PageSize": 2})

            return Paginator()

        def __getattr__(self, name: str) -> Any:
            return getattr(client, name)

    store = DynamoCooldownStore(cooldown_table, WINDOW, client=cast(Any, SmallPages()))
    store.claim_many([key() for _ in range(7)], NOW)

    assert store.stats(NOW) == {"package_low_stock": 7}


def _fill(store: DynamoCooldownStore) -> dict[str, list[CooldownKey]]:
    product = uuid.uuid4()
    keys = {
        "low": [key(NotificationType.PACKAGE_LOW_STOCK) for _ in range(30)],
        "bottleneck": [CooldownKey(NotificationType.PACKAGE_BOTTLENECK, product)],
        "stockout": [CooldownKey(NotificationType.STOCKOUT_PREDICTED, product)],
    }
    store.claim_many([k for group in keys.values() for k in group], NOW)
    return keys


def test_clear_without_filters_deletes_every_entry(store: DynamoCooldownStore) -> None:
    _fill(store)

    assert store.clear() == 32
    assert store.stats(NOW) == {}


def test_clear_by_type_deletes_only_that_type(store: DynamoCooldownStore) -> None:
    _fill(store)

    assert store.clear(type="package_low_stock") == 30
    assert store.stats(NOW) == {"package_bottleneck": 1, "stockout_predicted": 1}


def test_clear_by_reference_deletes_every_type_of_that_reference(
    store: DynamoCooldownStore,
) -> None:
    keys = _fill(store)

    assert store.clear(reference_id=keys["stockout"][0].reference_id) == 2
    assert store.stats(NOW) == {"package_low_stock": 30}


def test_clear_by_type_and_reference_deletes_one_entry(store: DynamoCooldownStore) -> None:
    keys = _fill(store)
    product = keys["stockout"][0].reference_id

    assert store.clear(type=NotificationType.STOCKOUT_PREDICTED, reference_id=product) == 1
    assert store.clear(type=NotificationType.STOCKOUT_PREDICTED, reference_id=product) == 0
    assert store.stats(NOW) == {"package_low_stock": 30, "package_bottleneck": 1}


def test_ping_answers_for_an_existing_table(store: DynamoCooldownStore) -> None:
    store.ping()  # no exception is the answer; a missing table is covered below


def test_missing_table_fails_claims_and_ping(moto_endpoint: str, cooldown_table: str) -> None:
    store = DynamoCooldownStore("no-such-table", WINDOW)

    [claim] = store.claim_many([key()], NOW)

    assert claim.outcome is ClaimOutcome.FAILED
    assert claim.error is not None
    assert "ResourceNotFoundException" in claim.error
    with pytest.raises(DependencyUnavailableError):
        store.ping()


def test_store_from_settings_uses_the_configured_table_and_window(
    cooldown_table: str, service_env: pytest.MonkeyPatch
) -> None:
    service_env.setenv("NOTIFICATION_COOLDOWN_HOURS", "1.5")

    store = get_cooldown_store()

    assert isinstance(store, DynamoCooldownStore)
    assert store.table_name == cooldown_table
    assert store.window == timedelta(minutes=90)
    assert get_cooldown_store() is store
    entry = key()
    claim_and_confirm(store, [entry], NOW)
    assert outcomes(store.claim_many([entry], NOW + timedelta(minutes=89))) == [
        ClaimOutcome.SUPPRESSED
    ]
    assert outcomes(store.claim_many([entry], NOW + timedelta(minutes=90))) == [
        ClaimOutcome.CLAIMED
    ]


def test_cooldown_of_zero_hours_claims_everything_and_writes_nothing(
    cooldown_table: str, service_env: pytest.MonkeyPatch, client: Any
) -> None:
    service_env.setenv("NOTIFICATION_COOLDOWN_HOURS", "0")
    store = get_cooldown_store()
    entry = key()

    first = store.claim_many([entry], NOW)
    second = store.claim_many([entry], NOW)

    assert isinstance(store, DisabledCooldownStore)
    assert outcomes(first + second) == [ClaimOutcome.CLAIMED, ClaimOutcome.CLAIMED]
    assert items(client, cooldown_table) == []
    assert store.stats(NOW) == {}


@pytest.fixture
def unreachable(cooldown_table: str, service_env: pytest.MonkeyPatch) -> DynamoCooldownStore:
    """The store pointed at a port nothing listens on."""
    service_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{services.free_port()}")
    get_cooldown_store.cache_clear()
    store = get_cooldown_store()
    assert isinstance(store, DynamoCooldownStore)
    return store


def test_unreachable_endpoint_fails_claims_quickly_without_raising(
    unreachable: DynamoCooldownStore,
) -> None:
    keys = [key() for _ in range(5)]

    started = time.monotonic()
    claims = unreachable.claim_many(keys, NOW)
    elapsed = time.monotonic() - started

    assert outcomes(claims) == [ClaimOutcome.FAILED] * len(keys)
    assert all(claim.error and "unreachable" in claim.error for claim in claims)
    assert [claim.key for claim in claims] == keys
    # Connection refused is immediate; the bound is the short timeouts with one retry.
    assert elapsed < 8


def test_unreachable_endpoint_raises_dependency_unavailable_on_ping_stats_and_clear(
    unreachable: DynamoCooldownStore,
) -> None:
    with pytest.raises(DependencyUnavailableError):
        unreachable.ping()
    with pytest.raises(DependencyUnavailableError):
        unreachable.stats(NOW)
    with pytest.raises(DependencyUnavailableError):
        unreachable.clear()


def test_release_against_an_unreachable_endpoint_does_not_raise(
    unreachable: DynamoCooldownStore,
) -> None:
    claim = Claim(key(), ClaimOutcome.CLAIMED, token="ours")

    unreachable.release([claim])  # logged; the entry would expire on its own

    assert unreachable.claim_many([claim.key], NOW)[0].outcome is ClaimOutcome.FAILED


def test_claims_not_started_by_the_deadline_are_deferred_and_write_nothing(
    store: DynamoCooldownStore, client: Any, cooldown_table: str
) -> None:
    keys = [key() for _ in range(6)]

    claims = store.claim_many(keys, NOW, deadline=DeadlineAfter(2))

    assert sorted(outcomes(claims)) == sorted(
        [ClaimOutcome.CLAIMED] * 2 + [ClaimOutcome.DEFERRED] * 4
    )
    claimed = {c.key for c in claims if c.outcome is ClaimOutcome.CLAIMED}
    assert {item["reference_id"]["S"] for item in items(client, cooldown_table)} == {
        str(k.reference_id) for k in claimed
    }
    # Out of time the digest waits: the insert of the claimed alerts comes first.
    assert (
        client.get_item(TableName=cooldown_table, Key={PARTITION_KEY: {"S": "#digest"}}).get("Item")
        is None
    )
    later = store.claim_many(keys, NOW)
    assert sorted(outcomes(later)) == sorted(
        [ClaimOutcome.SUPPRESSED] * 2 + [ClaimOutcome.CLAIMED] * 4
    )


class _BatchRendezvousClient:
    """Delegates to a real client, but each batch_write_item waits until `parties` are in
    flight: deletes sent one batch after another would never meet."""

    def __init__(self, client: Any, parties: int) -> None:
        self._client = client
        self._barrier = threading.Barrier(parties, timeout=10)

    def batch_write_item(self, **kwargs: Any) -> Any:
        self._barrier.wait()
        return self._client.batch_write_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_clear_sends_its_delete_batches_concurrently(
    store: DynamoCooldownStore, cooldown_table: str, client: Any
) -> None:
    for _ in range(50):  # two batches of 25
        put_entry(client, cooldown_table, key(), expires_at=NOW + WINDOW)
    rendezvous = cast(Any, _BatchRendezvousClient(client, parties=2))
    clearing = DynamoCooldownStore(cooldown_table, WINDOW, client=rendezvous)

    assert clearing.clear() == 50
    assert items(client, cooldown_table) == []


def test_a_claim_holds_only_its_lease_until_confirmed(store: DynamoCooldownStore) -> None:
    entry = key()
    [first] = store.claim_many([entry], NOW)

    inside = store.claim_many([entry], NOW + store.lease - timedelta(seconds=1))
    [after] = store.claim_many([entry], NOW + store.lease)

    assert outcomes(inside) == [ClaimOutcome.SUPPRESSED]
    assert after.outcome is ClaimOutcome.CLAIMED
    assert after.token != first.token


def test_confirm_leaves_an_entry_cleared_or_claimed_by_someone_else_alone(
    store: DynamoCooldownStore, client: Any, cooldown_table: str
) -> None:
    cleared, taken = key(), key()
    [cleared_claim, taken_claim] = store.claim_many([cleared, taken], NOW)
    store.clear(type=cleared.type.value, reference_id=cleared.reference_id)
    [theirs] = store.claim_many([taken], NOW + store.lease)  # ours ended: someone else's now

    store.confirm(
        [Confirmation(cleared_claim, since=NOW), Confirmation(taken_claim, since=NOW)],
        NOW + store.lease,
    )

    [item] = items(client, cooldown_table)
    assert item["token"] == {"S": theirs.token}
    assert item["phase"] == {"S": "lease"}
