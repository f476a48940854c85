"""The digest of live cooldown entries, against moto's server over HTTP.

A warm run learns which alerts are suppressed from the digest in two requests instead of
reading every entry; it must never suppress an alert whose entry was deleted early (clear,
release) or has expired, nor miss an entry somebody else wrote.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from inventory.data.cooldowns import ClaimOutcome, dynamodb_digest
from inventory.data.cooldowns.dynamodb import DynamoCooldownStore
from inventory.data.cooldowns.dynamodb_client import PARTITION_KEY
from inventory.rules.alert_types import CooldownKey, NotificationType
from tests.support import dynamo
from tests.support.claims import claim_and_confirm

NOW = datetime(2025, 10, 21, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=24)


def keys(count: int, kind: NotificationType = NotificationType.PACKAGE_LOW_STOCK) -> list[Any]:
    return [CooldownKey(kind, uuid.uuid4()) for _ in range(count)]


@pytest.fixture
def client(moto_endpoint: str) -> Any:
    return dynamo.dynamodb_client(moto_endpoint)


def counted_store(table: str, endpoint: str) -> tuple[DynamoCooldownStore, Counter[str]]:
    """A store on a client of its own (a new container) that counts its requests by operation."""
    client = dynamo.dynamodb_client(endpoint)
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client.meta.events.register("before-call.dynamodb", count)
    return DynamoCooldownStore(table, WINDOW, client=client), calls


def outcomes(claims: list[Any]) -> Counter[ClaimOutcome]:
    return Counter(claim.outcome for claim in claims)


def test_a_warm_run_learns_the_live_entries_from_the_digest_not_from_each_entry(
    cooldown_table: str, moto_endpoint: str
) -> None:
    held = keys(250)
    first, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(first, held, NOW)
    fresh = keys(1)
    later, calls = counted_store(cooldown_table, moto_endpoint)

    claims = later.claim_many([*held, *fresh], NOW + timedelta(minutes=10))

    assert outcomes(claims) == {ClaimOutcome.SUPPRESSED: 250, ClaimOutcome.CLAIMED: 1}
    assert claims[-1].outcome is ClaimOutcome.CLAIMED
    # Header + digest chunks, then one batch read for the one key the digest did not name;
    # the 250 entries themselves are never read (that would be 3 more BatchGetItem calls).
    assert calls["GetItem"] == 1
    assert calls["BatchGetItem"] == 2
    assert calls["PutItem"] == 1


def test_a_run_that_learns_nothing_new_writes_no_digest(
    cooldown_table: str, moto_endpoint: str
) -> None:
    held = keys(30)
    first, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(first, held, NOW)
    later, calls = counted_store(cooldown_table, moto_endpoint)

    claims = later.claim_many(held, NOW + timedelta(minutes=10))

    assert outcomes(claims) == {ClaimOutcome.SUPPRESSED: 30}
    assert calls == {"GetItem": 1, "BatchGetItem": 1}


def test_clear_invalidates_the_digest_so_cleared_alerts_are_sent_again(
    cooldown_table: str, moto_endpoint: str
) -> None:
    low = keys(5, NotificationType.PACKAGE_LOW_STOCK)
    unavailable = keys(5, NotificationType.PACKAGE_UNAVAILABLE)
    store, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(store, [*low, *unavailable], NOW)

    assert store.clear(type=NotificationType.PACKAGE_LOW_STOCK) == 5
    claims = store.claim_many([*low, *unavailable], NOW + timedelta(minutes=10))

    assert [c.outcome for c in claims] == [ClaimOutcome.CLAIMED] * 5 + [ClaimOutcome.SUPPRESSED] * 5


def test_clearing_one_entry_invalidates_the_digest_too(
    cooldown_table: str, moto_endpoint: str
) -> None:
    held = keys(3)
    store, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(store, held, NOW)

    assert store.clear(type=held[0].type.value, reference_id=held[0].reference_id) == 1
    claims = store.claim_many(held, NOW + timedelta(minutes=10))

    assert [c.outcome for c in claims] == [
        ClaimOutcome.CLAIMED,
        ClaimOutcome.SUPPRESSED,
        ClaimOutcome.SUPPRESSED,
    ]


def test_released_claims_are_sent_again_although_a_digest_named_them(
    cooldown_table: str, moto_endpoint: str
) -> None:
    held = keys(4)
    store, _ = counted_store(cooldown_table, moto_endpoint)
    claims = store.claim_many(held, NOW)

    store.release(claims)

    assert outcomes(store.claim_many(held, NOW)) == {ClaimOutcome.CLAIMED: 4}


def test_a_digest_built_before_a_clear_is_refused(
    cooldown_table: str, moto_endpoint: str, client: Any
) -> None:
    held = keys(3)
    store, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(store, held, NOW)
    before = dynamodb_digest.read_digest(client, cooldown_table, PARTITION_KEY)
    assert set(before.entries) == set(held)

    store.clear()  # deletes every entry, then bumps the generation
    taken = dynamodb_digest.write_digest(
        client,
        cooldown_table,
        PARTITION_KEY,
        generation=before.generation,
        entries=before.entries,
        now_epoch=NOW.timestamp(),
    )

    assert taken is False
    assert dynamodb_digest.read_digest(client, cooldown_table, PARTITION_KEY).entries == {}
    assert outcomes(store.claim_many(held, NOW)) == {ClaimOutcome.CLAIMED: 3}


def test_expired_entries_named_by_the_digest_are_claimed_again(
    cooldown_table: str, moto_endpoint: str
) -> None:
    held = keys(3)
    store, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(store, held, NOW)

    assert outcomes(store.claim_many(held, NOW + WINDOW)) == {ClaimOutcome.CLAIMED: 3}


def test_the_digest_a_run_writes_names_exactly_the_live_entries(
    cooldown_table: str, moto_endpoint: str, client: Any
) -> None:
    store, _ = counted_store(cooldown_table, moto_endpoint)
    gone, expired = keys(2), keys(2)
    claim_and_confirm(store, [*gone, *expired], NOW)
    half = NOW + WINDOW / 2
    named = keys(2)
    claim_and_confirm(store, named, half)  # the digest names `gone`, `expired` and `named`
    other, _ = counted_store(cooldown_table, moto_endpoint)
    [theirs] = other.claim_many(keys(1), NOW + WINDOW - timedelta(seconds=30))  # a lease only
    fresh = keys(2)

    claims = claim_and_confirm(store, [*named, theirs.key, *fresh, *expired], NOW + WINDOW)

    assert outcomes(claims) == {ClaimOutcome.SUPPRESSED: 3, ClaimOutcome.CLAIMED: 4}
    digest = dynamodb_digest.read_digest(client, cooldown_table, PARTITION_KEY)
    # `gone` expired and nobody asked again: no longer named. The others are live.
    assert set(digest.entries) == {*named, theirs.key, *fresh, *expired}
    # Claimed again, the expired keys are named with their new window, not the old one.
    renewed = int((NOW + 2 * WINDOW).timestamp())
    assert {digest.entries[key] for key in [*fresh, *expired]} == {renewed}


def test_entries_written_by_someone_else_are_found_though_the_digest_misses_them(
    cooldown_table: str, moto_endpoint: str
) -> None:
    mine = keys(2)
    store, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(store, mine, NOW)
    other, _ = counted_store(cooldown_table, moto_endpoint)
    [theirs] = other.claim_many(keys(1), NOW)  # a lease, not confirmed yet: no digest

    claims = store.claim_many([*mine, theirs.key], NOW + timedelta(seconds=30))

    assert outcomes(claims) == {ClaimOutcome.SUPPRESSED: 3}


def test_a_corrupt_digest_falls_back_to_reading_the_entries(
    cooldown_table: str, moto_endpoint: str, client: Any
) -> None:
    held = keys(3)
    store, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(store, held, NOW)
    header = client.get_item(TableName=cooldown_table, Key={PARTITION_KEY: {"S": "#digest"}})
    run = header["Item"]["digest_run"]["S"]
    client.put_item(
        TableName=cooldown_table,
        Item={PARTITION_KEY: {"S": f"#digest#{run}#0"}, "entries": {"B": b"\x00" * 5}},
    )
    fresh = keys(1)

    claims = store.claim_many([*held, *fresh], NOW + timedelta(minutes=1))

    assert [c.outcome for c in claims] == [ClaimOutcome.SUPPRESSED] * 3 + [ClaimOutcome.CLAIMED]


def test_digest_items_are_neither_counted_nor_cleared(
    cooldown_table: str, moto_endpoint: str, client: Any
) -> None:
    store, _ = counted_store(cooldown_table, moto_endpoint)
    store.claim_many(keys(4), NOW)

    assert store.stats(NOW) == {"package_low_stock": 4}
    assert store.clear() == 4
    scanned = client.scan(TableName=cooldown_table)["Items"]
    assert scanned  # the header (and the chunks, until they expire) stay
    assert all(item[PARTITION_KEY]["S"].startswith("#digest") for item in scanned)
    assert store.stats(NOW) == {}


def test_a_new_digest_replaces_the_old_chunks(
    cooldown_table: str, moto_endpoint: str, client: Any
) -> None:
    store, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(store, keys(3), NOW)
    claim_and_confirm(store, keys(3), NOW)

    chunks = [
        item
        for item in client.scan(TableName=cooldown_table)["Items"]
        if item[PARTITION_KEY]["S"].startswith("#digest#")
    ]
    assert len(chunks) == 1
    digest = dynamodb_digest.read_digest(client, cooldown_table, PARTITION_KEY)
    assert len(digest.entries) == 6


def test_a_clear_that_deletes_nothing_still_repairs_a_lost_invalidation(
    cooldown_table: str, moto_endpoint: str, client: Any
) -> None:
    held = keys(2)
    store, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(store, held, NOW)
    # A clear whose generation bump was lost: the entries are gone, the digest still names them.
    for entry in held:
        client.delete_item(
            TableName=cooldown_table,
            Key={PARTITION_KEY: {"S": f"{entry.type.value}#{entry.reference_id}"}},
        )
    assert outcomes(store.claim_many(held, NOW)) == {ClaimOutcome.SUPPRESSED: 2}

    assert store.clear() == 0

    assert outcomes(store.claim_many(held, NOW)) == {ClaimOutcome.CLAIMED: 2}
