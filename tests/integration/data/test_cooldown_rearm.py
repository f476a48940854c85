"""`rearm` against moto's server over HTTP: an episode resolved, its cooldowns released.

The confirmed windows of the given keys go, whoever wrote them, so the next claim of each
succeeds; a live lease stays (its run's notification is not committed: deleting it would let a
second run claim and send too). `rearm` returns the keys settled and never raises: a delete
left unanswered is left out, for the caller to retry. The digest stays valid without the keys
(the next warm run still reads two items, not every entry), unless another deletion came
between its read and rearm's bump: then it is left invalid, never wrong.
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
from botocore.exceptions import ClientError

from inventory.data.cooldowns import (
    Claim,
    ClaimOutcome,
    Confirmation,
    dynamodb_digest,
    get_cooldown_store,
)
from inventory.data.cooldowns.dynamodb import DynamoCooldownStore
from inventory.data.cooldowns.dynamodb_client import PARTITION_KEY
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


def test_rearm_deletes_confirmed_windows_and_leaves_live_leases_alone_unsettled(
    cooldown_table: str, moto_endpoint: str, client: Any
) -> None:
    confirmed, leased = keys(3), keys(3)
    store, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(store, confirmed, NOW)
    store.claim_many(leased, NOW)  # leases, not confirmed
    other, _ = counted_store(cooldown_table, moto_endpoint)
    [theirs] = other.claim_many(keys(1), NOW)  # another run's lease, its insert in flight
    absent = keys(1)[0]  # no entry at all: settled too
    rearmed = [confirmed[0], leased[0], theirs.key, absent]

    settled = store.rearm(rearmed, NOW + timedelta(minutes=1))

    # A lease may yet be confirmed as the resolved episode's window (its run's insert read the
    # rows before the resolution committed): not settled, so the next run tries again.
    assert settled == [confirmed[0], absent]
    assert entries(client, cooldown_table) == {
        partition(k) for k in [*confirmed[1:], *leased, theirs.key]
    }
    claims = store.claim_many([*rearmed, *confirmed[1:], *leased[1:]], NOW + timedelta(minutes=2))
    # The live leases still hold their keys: only the run that holds one may send.
    assert outcomes(claims) == [
        ClaimOutcome.CLAIMED,
        ClaimOutcome.SUPPRESSED,
        ClaimOutcome.SUPPRESSED,
        ClaimOutcome.CLAIMED,
        *[ClaimOutcome.SUPPRESSED] * 4,
    ]


def test_an_expired_lease_and_an_entry_without_phase_are_deleted(
    cooldown_table: str, moto_endpoint: str, client: Any
) -> None:
    store, _ = counted_store(cooldown_table, moto_endpoint)
    [lapsed] = store.claim_many(keys(1), NOW)  # its run died before confirming
    old = keys(1)[0]  # written before leases existed: no phase, a confirmed window
    client.put_item(
        TableName=cooldown_table,
        Item={
            PARTITION_KEY: {"S": partition(old)},
            "type": {"S": old.type.value},
            "reference_id": {"S": str(old.reference_id)},
            "token": {"S": "old"},
            "expires_at": {"N": str(int((NOW + WINDOW).timestamp()))},
        },
    )
    later = NOW + LEASE + timedelta(minutes=1)

    assert store.rearm([lapsed.key, old], later) == [lapsed.key, old]

    assert entries(client, cooldown_table) == set()
    assert outcomes(store.claim_many([lapsed.key, old], later)) == [ClaimOutcome.CLAIMED] * 2


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

    assert rearming.rearm(gone, NOW + timedelta(minutes=10)) == gone

    after = digest(client, cooldown_table)
    assert after.generation == before.generation + 1
    assert dict(after.entries) == {key: before.entries[key] for key in kept}
    # The digest's two reads, the deletes, the bump, the digest written (chunks, header, the
    # old chunks deleted).
    assert rearm_calls == {
        "GetItem": 1,
        "BatchGetItem": 1,
        "DeleteItem": len(gone),
        "UpdateItem": 2,
        "BatchWriteItem": 2,
    }
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

    assert store.rearm(held[:2], NOW) == held[:2]
    # The caller's retry after an unconfirmed answer: absent entries are settled.
    assert store.rearm(held[:2], NOW) == held[:2]

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

    def delete_item(self, **kwargs: Any) -> Any:
        if not self._after_bump:
            self._once()
        return self._client.delete_item(**kwargs)

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

    assert rearming.rearm(held[:2], NOW + timedelta(minutes=1)) == held[:2]

    assert interleaved[0].ran
    assert digest(client, cooldown_table).entries == {}
    claims = store.claim_many([victim, *held], NOW + timedelta(minutes=2))
    assert outcomes(claims) == [ClaimOutcome.CLAIMED] * 3 + [ClaimOutcome.SUPPRESSED] * 3


def _client_error(code: str, status: int, operation: str) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": code},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


class _FailingDeletes:
    """Delegates to a real client, but DeleteItem of the `refused` partitions is throttled
    (not done) and that of the `lost` ones is done but its answer lost (a 500)."""

    def __init__(self, client: Any, refused: set[str], lost: set[str]) -> None:
        self._client = client
        self._refused = refused
        self._lost = lost

    def delete_item(self, **kwargs: Any) -> Any:
        partition_key = kwargs["Key"][PARTITION_KEY]["S"]
        if partition_key in self._refused:
            raise _client_error("ProvisionedThroughputExceededException", 400, "DeleteItem")
        answer = self._client.delete_item(**kwargs)
        if partition_key in self._lost:
            raise _client_error("InternalServerError", 500, "DeleteItem")
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_unanswered_deletes_are_left_out_and_the_digest_names_none_of_the_keys(
    cooldown_table: str, moto_endpoint: str, client: Any
) -> None:
    held = keys(12)
    store, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(store, held, NOW)
    generation = digest(client, cooldown_table).generation
    rearmed, kept = held[:10], held[10:]
    refused, lost = rearmed[1:3], rearmed[5:6]

    def wrap(real: Any) -> _FailingDeletes:
        return _FailingDeletes(real, {partition(k) for k in refused}, {partition(k) for k in lost})

    failing, _ = counted_store(cooldown_table, moto_endpoint, wrap=wrap)

    settled = failing.rearm(rearmed, NOW)

    assert settled == [k for k in rearmed if k not in refused and k not in lost]
    # The lost delete landed; the refused ones did not.
    assert entries(client, cooldown_table) == {partition(k) for k in [*refused, *kept]}
    # Rewritten under the bump, without any requested key: a lost delete may land late.
    after = digest(client, cooldown_table)
    assert after.generation == generation + 1
    assert set(after.entries) == set(kept)
    warm, calls = counted_store(cooldown_table, moto_endpoint)
    assert outcomes(warm.claim_many(kept, NOW)) == [ClaimOutcome.SUPPRESSED] * len(kept)
    assert calls == {"GetItem": 1, "BatchGetItem": 1}
    # The caller's retry next run settles the rest.
    assert store.rearm([*refused, *lost], NOW) == [*refused, *lost]
    assert entries(client, cooldown_table) == {partition(k) for k in kept}


class _NoBump:
    """Delegates to a real client, but the digest's generation bump (an ADD) is refused."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def update_item(self, **kwargs: Any) -> Any:
        if kwargs.get("UpdateExpression", "").startswith("ADD"):
            raise _client_error("ProvisionedThroughputExceededException", 400, "UpdateItem")
        return self._client.update_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_without_the_bump_nothing_is_settled(
    cooldown_table: str, moto_endpoint: str, client: Any
) -> None:
    held = keys(4)
    store, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(store, held, NOW)
    before = digest(client, cooldown_table)
    unbumped, _ = counted_store(cooldown_table, moto_endpoint, wrap=_NoBump)

    # The deletes landed, but the digest still names them: the caller must retry (and bump).
    assert unbumped.rearm(held[:2], NOW) == []

    assert entries(client, cooldown_table) == {partition(k) for k in held[2:]}
    assert digest(client, cooldown_table) == before
    assert store.rearm(held[:2], NOW) == held[:2]
    assert set(digest(client, cooldown_table).entries) == set(held[2:])


def test_nothing_to_rearm_sends_no_request(cooldown_table: str, moto_endpoint: str) -> None:
    store, calls = counted_store(cooldown_table, moto_endpoint)

    assert store.rearm([], NOW) == []

    assert calls == {}


def test_duplicate_keys_and_more_than_one_batch_are_all_deleted(
    cooldown_table: str, moto_endpoint: str, client: Any
) -> None:
    held = keys(60)
    store, _ = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(store, held, NOW)
    rearming, calls = counted_store(cooldown_table, moto_endpoint)

    settled = rearming.rearm([*held, *held[:10], held[-1]], NOW)

    assert settled == held  # each once, in the order given
    assert entries(client, cooldown_table) == set()
    # 60 distinct keys: one delete each; nothing left for a digest to name.
    assert calls["DeleteItem"] == 60
    assert "BatchWriteItem" not in calls
    assert outcomes(store.claim_many(held, NOW)) == [ClaimOutcome.CLAIMED] * 60


def test_rearm_against_an_unreachable_endpoint_settles_nothing_quickly(
    cooldown_table: str, service_env: pytest.MonkeyPatch
) -> None:
    service_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{services.free_port()}")
    get_cooldown_store.cache_clear()
    store = get_cooldown_store()  # the production client: its timeouts and retries

    started = time.monotonic()
    settled = store.rearm(keys(30), NOW)
    elapsed = time.monotonic() - started

    assert settled == []

    # Connection refused is immediate; the bound is the short timeouts with one retry.
    assert elapsed < 8


def test_a_rearm_out_of_time_deletes_nothing_more_and_settles_only_what_it_deleted(
    cooldown_table: str, moto_endpoint: str, client: Any
) -> None:
    from tests.support.fakes import DeadlineAfter

    held = keys(8)
    store, calls = counted_store(cooldown_table, moto_endpoint)
    claim_and_confirm(store, held, NOW)

    settled = store.rearm(held, NOW, deadline=DeadlineAfter(0))

    # Nothing was started: every key is left for the next run, every window still holds.
    assert settled == []
    assert calls["DeleteItem"] == 0
    assert entries(client, cooldown_table) == {partition(k) for k in held}
    assert store.rearm(held, NOW) == held  # the next run's time suffices
    assert entries(client, cooldown_table) == set()
