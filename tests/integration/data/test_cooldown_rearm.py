"""`rearm` against moto's server over HTTP: an episode resolved, its cooldowns released.

The entries of the given keys go, whoever wrote them, so the next claim of each succeeds. The
digest stays valid without them (the next warm run still reads two items, not every entry),
unless another deletion came between its read and rearm's bump: then it is left invalid,
never wrong.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from inventory.data.cooldowns import (
    Claim,
    ClaimOutcome,
    Confirmation,
    dynamodb_digest,
    get_cooldown_store,
)
from inventory.data.cooldowns.dynamodb import DynamoCooldownStore
from inventory.data.cooldowns.dynamodb_batches import ROUNDS
from inventory.data.cooldowns.dynamodb_client import PARTITION_KEY
from inventory.errors import DependencyUnavailableError
from inventory.rules.alert_types import CooldownKey, NotificationType
from tests.support import dynamo, services
from tests.support.claims import claim_and_confirm

NOW = datetime(2025, 10, 21, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=24)
# Longer than any step of these tests: a lease claimed at NOW is still live when checked.
LEASE = timedelta(minutes=30)


def keys(count: int, kind: NotificationType = NotificationType.PACKAGE_LOW_STOCK) -> list[Any]:
    return [CooldownKey(kind, uuid.uuid4()) for _ in range(count)]


@pytest.fixture
def client(moto_endpoint: str) -> Any:
    return dynamo.dynamodb_client(moto_endpoint)


def counted_store(
    table: str, endpoint: str, wrap: Callable[[Any], Any] | None = None
) -> tuple[DynamoCooldownStore, Counter[str]]:
    """A store on a client of its own (a new container) that counts its requests by operation;
    `wrap` puts a delegating client around it."""
    client = dynamo.dynamodb_client(endpoint)
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client.meta.events.register("before-call.dynamodb", count)
    used = client if wrap is None else cast(Any, wrap(client))
    return DynamoCooldownStore(table, WINDOW, client=used, lease=LEASE), calls


def partition(key: CooldownKey) -> str:
    return f"{key.type.value}#{key.reference_id}"


def entries(client: Any, table: str) -> set[str]:
    """The partition keys of the cooldown entries (the digest's items have no type)."""
    scanned = client.scan(TableName=table)["Items"]
    return {item[PARTITION_KEY]["S"] for item in scanned if "type" in item}


def digest(client: Any, table: str) -> dynamodb_digest.Digest:
    return dynamodb_digest.read_digest(client, table, PARTITION_KEY)


def outcomes(claims: list[Claim]) -> list[ClaimOutcome]:
    return [claim.outcome for claim in claims]


def test_rearm_deletes_the_leases_and_windows_of_its_keys_and_nothing_else(
    cooldown_table: str, moto_endpoint: str, client: Any
) -> None:
    confirmed, leased = keys(3), keys(3)
    store, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(store, confirmed, NOW)
    store.claim_many(leased, NOW)  # leases, not confirmed
    other, _ = counted_store(cooldown_table, moto_endpoint)
    [theirs] = other.claim_many(keys(1), NOW)  # another run's lease: another token
    rearmed = [confirmed[0], leased[0], theirs.key]

    store.rearm(rearmed, NOW + timedelta(minutes=1))

    assert entries(client, cooldown_table) == {partition(k) for k in confirmed[1:] + leased[1:]}
    claims = store.claim_many([*rearmed, *confirmed[1:], *leased[1:]], NOW + timedelta(minutes=2))
    assert outcomes(claims) == [ClaimOutcome.CLAIMED] * 3 + [ClaimOutcome.SUPPRESSED] * 4


def test_after_rearm_the_digest_is_still_valid_and_does_not_name_the_rearmed_keys(
    cooldown_table: str, moto_endpoint: str, client: Any
) -> None:
    held = keys(40)
    first, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(first, held, NOW)
    before = digest(client, cooldown_table)
    assert set(before.entries) == set(held)
    gone, kept = held[:10], held[10:]
    rearming, rearm_calls = counted_store(cooldown_table, moto_endpoint)

    rearming.rearm(gone, NOW + timedelta(minutes=10))

    after = digest(client, cooldown_table)
    assert after.generation == before.generation + 1
    assert dict(after.entries) == {key: before.entries[key] for key in kept}
    # The digest's two reads, the deletes, the bump, the digest written (chunks, header, the
    # old chunks deleted).
    assert rearm_calls == {"GetItem": 1, "BatchGetItem": 1, "BatchWriteItem": 3, "UpdateItem": 2}
    warm, calls = counted_store(cooldown_table, moto_endpoint)
    claims = warm.claim_many(kept, NOW + timedelta(minutes=20))
    assert outcomes(claims) == [ClaimOutcome.SUPPRESSED] * len(kept)
    # Only the digest's header and chunks: no BatchGetItem of the entries themselves.
    assert calls == {"GetItem": 1, "BatchGetItem": 1}
    assert outcomes(warm.claim_many(gone, NOW + timedelta(minutes=20))) == [
        ClaimOutcome.CLAIMED
    ] * len(gone)


def test_the_rewritten_digest_leaves_expired_entries_out(
    cooldown_table: str, moto_endpoint: str, client: Any
) -> None:
    store, _ = counted_store(cooldown_table, moto_endpoint)
    lasting, ending = keys(3), keys(2)
    claim_and_confirm(store, lasting, NOW)
    claims = store.claim_many(ending, NOW)
    # Windows counted from an earlier row: they end five minutes from NOW.
    since = NOW - WINDOW + timedelta(minutes=5)
    store.confirm([Confirmation(c, since=since) for c in claims], NOW)
    assert set(digest(client, cooldown_table).entries) == {*lasting, *ending}

    store.rearm(lasting[:1], NOW + timedelta(minutes=10))

    assert set(digest(client, cooldown_table).entries) == set(lasting[1:])


def test_rearming_twice_is_harmless_and_keeps_the_digest_valid(
    cooldown_table: str, moto_endpoint: str, client: Any
) -> None:
    held = keys(5)
    store, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(store, held, NOW)

    store.rearm(held[:2], NOW)
    store.rearm(held[:2], NOW)  # the caller's retry after an unconfirmed answer

    assert set(digest(client, cooldown_table).entries) == set(held[2:])
    assert entries(client, cooldown_table) == {partition(k) for k in held[2:]}


def test_a_digest_that_was_invalid_when_read_is_left_invalid(
    cooldown_table: str, moto_endpoint: str, client: Any
) -> None:
    held = keys(4)
    store, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(store, held, NOW)
    store.clear(type=NotificationType.PACKAGE_UNAVAILABLE)  # deletes nothing, invalidates
    assert digest(client, cooldown_table).entries == {}

    store.rearm(held[:1], NOW)

    assert digest(client, cooldown_table).entries == {}
    claims = store.claim_many(held, NOW + timedelta(minutes=1))
    assert outcomes(claims) == [ClaimOutcome.CLAIMED] + [ClaimOutcome.SUPPRESSED] * 3


class _Interleaved:
    """Delegates to a real client, and once runs `step` (another run's deletion) at a chosen
    point of a rearm: before its first delete, so between its digest read and its bump; or
    right after its bump, so between the bump and its digest write."""

    def __init__(self, client: Any, step: Callable[[], None], *, after_bump: bool) -> None:
        self._client = client
        self._step = step
        self._after_bump = after_bump
        self._lock = threading.Lock()
        self.ran = False

    def _once(self) -> None:
        with self._lock:
            if not self.ran:
                self.ran = True
                self._step()

    def batch_write_item(self, **kwargs: Any) -> Any:
        if not self._after_bump:
            self._once()
        return self._client.batch_write_item(**kwargs)

    def update_item(self, **kwargs: Any) -> Any:
        answer = self._client.update_item(**kwargs)
        if self._after_bump and kwargs.get("UpdateExpression", "").startswith("ADD"):
            self._once()
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.mark.parametrize("after_bump", [False, True], ids=["before-the-bump", "after-the-bump"])
@pytest.mark.parametrize("deletion", ["clear", "release"])
def test_another_deletion_during_rearm_leaves_the_digest_invalid_not_wrong(
    cooldown_table: str, moto_endpoint: str, client: Any, deletion: str, after_bump: bool
) -> None:
    held = keys(5)
    store, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(store, held, NOW)
    other, _ = counted_store(cooldown_table, moto_endpoint)
    victim_claims = claim_and_confirm(other, keys(1), NOW)
    victim = victim_claims[0].key
    # The digest names the victim's entry: were it written back after the other deletion,
    # the victim's next claim would be wrongly SUPPRESSED.
    assert set(digest(client, cooldown_table).entries) == {*held, victim}

    def step() -> None:
        if deletion == "clear":
            assert other.clear(type=victim.type.value, reference_id=victim.reference_id) == 1
        else:
            other.release(victim_claims)

    interleaved: list[_Interleaved] = []

    def wrap(real: Any) -> _Interleaved:
        interleaved.append(_Interleaved(real, step, after_bump=after_bump))
        return interleaved[0]

    rearming, _ = counted_store(cooldown_table, moto_endpoint, wrap=wrap)

    rearming.rearm(held[:2], NOW + timedelta(minutes=1))

    assert interleaved[0].ran
    assert digest(client, cooldown_table).entries == {}
    claims = store.claim_many([victim, *held], NOW + timedelta(minutes=2))
    assert outcomes(claims) == [ClaimOutcome.CLAIMED] * 3 + [ClaimOutcome.SUPPRESSED] * 3


class _Throttled:
    """Delegates to a real client, but each batch_write_item processes only its first request
    and hands the rest back unprocessed, as a throttled table does."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def batch_write_item(self, RequestItems: dict[str, list[Any]], **kwargs: Any) -> Any:
        [(table, requests)] = RequestItems.items()
        answer = self._client.batch_write_item(RequestItems={table: requests[:1]}, **kwargs)
        return {**answer, "UnprocessedItems": {table: requests[1:]} if requests[1:] else {}}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_deletes_left_unprocessed_raise_after_invalidating_the_digest(
    cooldown_table: str, moto_endpoint: str, client: Any
) -> None:
    held = keys(12)
    store, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(store, held, NOW)
    generation = digest(client, cooldown_table).generation
    throttled, _ = counted_store(cooldown_table, moto_endpoint, wrap=_Throttled)

    with pytest.raises(DependencyUnavailableError, match="did not answer"):
        throttled.rearm(held[:10], NOW)

    # ROUNDS sends of one delete each landed; the other entries stay, and the digest counts
    # for none of them any more.
    assert len(entries(client, cooldown_table)) == len(held) - ROUNDS
    after = digest(client, cooldown_table)
    assert after.generation == generation + 1
    assert after.entries == {}
    store.rearm(held[:10], NOW)  # the caller's retry next run
    assert entries(client, cooldown_table) == {partition(k) for k in held[10:]}


def test_nothing_to_rearm_sends_no_request(cooldown_table: str, moto_endpoint: str) -> None:
    store, calls = counted_store(cooldown_table, moto_endpoint)

    store.rearm([], NOW)

    assert calls == {}


def test_duplicate_keys_and_more_than_one_batch_are_all_deleted(
    cooldown_table: str, moto_endpoint: str, client: Any
) -> None:
    held = keys(60)
    store, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(store, held, NOW)
    rearming, calls = counted_store(cooldown_table, moto_endpoint)

    rearming.rearm([*held, *held[:10], held[-1]], NOW)

    assert entries(client, cooldown_table) == set()
    # 60 distinct keys: three batches of at most 25; nothing left for a digest to name.
    assert calls["BatchWriteItem"] == 3
    assert outcomes(store.claim_many(held, NOW)) == [ClaimOutcome.CLAIMED] * 60


def test_rearm_against_an_unreachable_endpoint_raises_quickly(
    cooldown_table: str, service_env: pytest.MonkeyPatch
) -> None:
    service_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{services.free_port()}")
    get_cooldown_store.cache_clear()
    store = get_cooldown_store()  # the production client: its timeouts and retries

    started = time.monotonic()
    with pytest.raises(DependencyUnavailableError, match="did not answer"):
        store.rearm(keys(30), NOW)
    elapsed = time.monotonic() - started

    # Connection refused is immediate; the bound is the short timeouts with one retry.
    assert elapsed < 8
