"""The cooldown store in DynamoDB: one item per (type, reference), expiring by TTL.

An item is live while `expires_at > now`: DynamoDB deletes expired items up to days late, so
every read and every claim condition checks the attribute instead of trusting presence. Beside
the entries the table holds a digest of the live ones (dynamodb_digest.py), so that a warm run
learns which alerts are suppressed in two reads instead of one per entry.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID, uuid4

from inventory.data.cooldowns import (
    Claim,
    ClaimOutcome,
    Confirmation,
    dynamodb_digest,
    dynamodb_scans,
)
from inventory.data.cooldowns.dynamodb_batches import BATCH_GET_LIMIT, get_all
from inventory.data.cooldowns.dynamodb_client import (
    MAX_WORKERS,
    PARTITION_KEY,
    TTL_ATTRIBUTE,
    create_dynamodb_client,
    describe_dynamodb_error,
    dynamodb_errors,
    is_conditional_check_failure,
    may_have_landed,
    partition_key_of,
)
from inventory.deadline import Deadline
from inventory.errors import DependencyUnavailableError
from inventory.observability import logger
from inventory.rules.alert_types import CooldownKey

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


_Item = TypeVar("_Item")
_Answer = TypeVar("_Answer")
_First = TypeVar("_First")

# An entry's `phase`: a lease until its notification is committed, then the cooldown window.
# Entries written before leases existed have no phase and count as confirmed.
LEASE = "lease"
COOLDOWN = "cooldown"
# Without a setting: the monitor's timeout (28 s) plus a statement the server may still finish.
DEFAULT_LEASE = timedelta(seconds=60)


def _epoch_seconds(moment: datetime) -> float:
    if moment.tzinfo is None:
        raise ValueError("Cooldown times must be timezone-aware.")
    return moment.timestamp()


class DynamoCooldownStore:
    """Cooldown entries in DynamoDB, one item per (type, reference), expiring by TTL.

    An item is live while `expires_at > now`: DynamoDB deletes expired items up to days late,
    so every read and every claim condition checks the attribute instead of trusting presence.
    A claim writes a lease (`phase` = lease, live for `lease`); `confirm` makes it the whole
    window. Besides the protocol, `table_name`, `window` and `lease` are readable attributes.
    """

    def __init__(
        self,
        table_name: str,
        window: timedelta,
        client: DynamoDBClient | None = None,
        *,
        lease: timedelta = DEFAULT_LEASE,
        max_workers: int = MAX_WORKERS,
    ) -> None:
        if window <= timedelta(0):
            raise ValueError("The cooldown window must be positive; use DisabledCooldownStore.")
        if lease <= timedelta(0):
            raise ValueError("The claim lease must be positive.")
        self.table_name = table_name
        self.window = window
        self.lease = lease
        self._client = client
        self._client_lock = threading.Lock()
        self._max_workers = max(1, max_workers)

    def _dynamodb(self) -> DynamoDBClient:
        with self._client_lock:
            if self._client is None:
                self._client = create_dynamodb_client()
            return self._client

    @staticmethod
    def partition_key(key: CooldownKey) -> str:
        return partition_key_of(key.type.value, key.reference_id)

    # -- claims ------------------------------------------------------------------------------

    def claim_many(
        self, keys: Sequence[CooldownKey], now: datetime, *, deadline: Deadline | None = None
    ) -> list[Claim]:
        """Conditional PutItem per key, concurrently; never raises for a DynamoDB fault."""
        if not keys:
            return []
        now_epoch = _epoch_seconds(now)
        try:
            client = self._dynamodb()
        except dynamodb_errors() as error:
            reason = describe_dynamodb_error(error)
            return [Claim(key, ClaimOutcome.FAILED, error=reason) for key in keys]
        if len(keys) == 1:
            return [self._claim(client, keys[0], now, now_epoch, deadline)]
        # With the cooldown warm almost every key has a live entry: the digest names most of
        # them, a consistent BatchGetItem finds the rest, and only keys without a live entry pay
        # a conditional PutItem. Skipping a key seen live at `now` changes no outcome (its claim
        # would fail at the same `now`); the PutItem condition still decides every claim.
        floor_now = math.floor(now_epoch)
        digest = self._read_digest(client)
        named = {} if digest is None else digest.entries
        # One lookup per key; the filtered copy of the digest is made only when one is written.
        unknown = list(dict.fromkeys(key for key in keys if named.get(key, 0) <= floor_now))
        found = self._live_keys(client, unknown, floor_now)
        claims = [Claim(key, ClaimOutcome.SUPPRESSED) for key in keys]
        # Only the keys without a live entry go to the pool: a future per suppressed key costs
        # more than its answer.
        dead = {key for key in unknown if key not in found}
        pending = [i for i, key in enumerate(keys) if key in dead] if dead else []
        if pending:
            workers = min(self._max_workers, len(pending))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cooldown") as pool:
                # map keeps the input order whatever order the answers arrive in.
                answers = pool.map(
                    lambda i: self._claim(client, keys[i], now, now_epoch, deadline), pending
                )
                for index, claim in zip(pending, answers, strict=True):
                    claims[index] = claim
        out_of_time = deadline is not None and deadline.expired()
        # Out of time, the insert of what was claimed comes first; the digest can wait a run.
        # Claimed keys reach the digest when `confirm` makes them whole windows; here only
        # entries the digest missed are added (with our leases, which are live too).
        if digest is not None and found and not out_of_time:
            claimed = {c.key: c.expires_at for c in claims if c.expires_at is not None}
            self._add_to_digest(client, digest, {**found, **claimed}, now_epoch)
        return claims

    # -- the digest of live entries (data/dynamodb_digest.py) ---------------------------------

    def _read_digest(self, client: DynamoDBClient) -> dynamodb_digest.Digest | None:
        """The digest, or None when it cannot be read (then no digest is written either)."""
        try:
            return dynamodb_digest.read_digest(client, self.table_name, PARTITION_KEY)
        except dynamodb_errors() as error:
            logger.warning(
                "Cooldown digest unreadable", extra={"reason": describe_dynamodb_error(error)}
            )
            return None

    def _write_digest(
        self,
        client: DynamoDBClient,
        generation: int,
        entries: dict[CooldownKey, int],
        now_epoch: float,
    ) -> None:
        try:
            dynamodb_digest.write_digest(
                client,
                self.table_name,
                PARTITION_KEY,
                generation=generation,
                entries=entries,
                now_epoch=now_epoch,
            )
        except Exception as error:  # noqa: BLE001 (the claims are made: nothing may undo them)
            # The next run reads the entries themselves: slower, never wrong.
            logger.warning(
                "Cooldown digest not written", extra={"reason": describe_dynamodb_error(error)}
            )

    def _invalidate_digest(self) -> int | None:
        """After entries were deleted early: no digest written before now may be used. The new
        generation, or None when the bump failed."""
        try:
            return dynamodb_digest.bump_generation(self._dynamodb(), self.table_name, PARTITION_KEY)
        except dynamodb_errors() as error:
            # Until the bump lands, runs may trust a digest naming deleted entries, so this
            # is logged loudly: those alerts wait for their entries' expiry.
            logger.error(
                "Cooldown digest not invalidated", extra={"reason": describe_dynamodb_error(error)}
            )
            return None

    def _live_keys(
        self, client: DynamoDBClient, keys: Sequence[CooldownKey], floor_now: int
    ) -> dict[CooldownKey, int]:
        """Keys with a live entry and its expires_at; empty when the read fails (then every
        key is claimed with its conditional write, as without this read)."""
        if not keys:
            return {}
        by_partition = {self.partition_key(key): key for key in keys}
        wanted = list(by_partition)
        chunks = [
            wanted[start : start + BATCH_GET_LIMIT]
            for start in range(0, len(wanted), BATCH_GET_LIMIT)
        ]
        workers = min(self._max_workers, len(chunks))
        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cooldown") as pool:
                found = list(pool.map(lambda chunk: self._read_live(client, chunk), chunks))
        except dynamodb_errors() as error:
            logger.warning(
                "Cooldown pre-read failed", extra={"reason": describe_dynamodb_error(error)}
            )
            return {}
        live: dict[CooldownKey, int] = {}
        for items in found:
            for item in items:
                expires = int(item[TTL_ATTRIBUTE]["N"])
                if expires > floor_now:
                    live[by_partition[item[PARTITION_KEY]["S"]]] = expires
        return live

    def _read_live(self, client: DynamoDBClient, chunk: Sequence[str]) -> list[dict[str, Any]]:
        request = {
            "Keys": [{PARTITION_KEY: {"S": key}} for key in chunk],
            "ConsistentRead": True,
            "ProjectionExpression": "#pk, #expires_at",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#expires_at": TTL_ATTRIBUTE},
        }
        # What stays unread is simply claimed with its conditional write.
        return get_all(client, self.table_name, request)

    def _claim(
        self,
        client: DynamoDBClient,
        key: CooldownKey,
        now: datetime,
        now_epoch: float,
        deadline: Deadline | None = None,
    ) -> Claim:
        if deadline is not None and deadline.expired():
            return Claim(key, ClaimOutcome.DEFERRED)
        token = str(uuid4())
        # Whole seconds, as DynamoDB's TTL wants; the ceiling keeps the lease at least whole.
        expires_at = math.ceil(now_epoch + self.lease.total_seconds())
        try:
            client.put_item(
                TableName=self.table_name,
                Item={
                    PARTITION_KEY: {"S": self.partition_key(key)},
                    "type": {"S": key.type.value},
                    "reference_id": {"S": str(key.reference_id)},
                    "claimed_at": {"S": now.isoformat()},
                    "token": {"S": token},
                    "phase": {"S": LEASE},
                    TTL_ATTRIBUTE: {"N": str(expires_at)},
                },
                # An expired entry DynamoDB has not deleted yet must not block the claim. Our
                # own token passes too: botocore's retry after a lost answer meets our entry.
                ConditionExpression=(
                    "attribute_not_exists(#pk) OR #expires_at <= :now OR #token = :token"
                ),
                ExpressionAttributeNames={
                    "#pk": PARTITION_KEY,
                    "#expires_at": TTL_ATTRIBUTE,
                    "#token": "token",
                },
                ExpressionAttributeValues={
                    ":now": {"N": str(math.floor(now_epoch))},
                    ":token": {"S": token},
                },
            )
        except dynamodb_errors() as error:
            if is_conditional_check_failure(error):
                return Claim(key, ClaimOutcome.SUPPRESSED)
            # Unanswered, the entry may exist: the token lets release delete it again.
            ours = token if may_have_landed(error) else None
            return Claim(key, ClaimOutcome.FAILED, token=ours, error=describe_dynamodb_error(error))
        return Claim(key, ClaimOutcome.CLAIMED, token=token, expires_at=expires_at)

    def confirm(self, confirmations: Sequence[Confirmation], now: datetime) -> None:
        """Each lease becomes the whole window from its `since`, only while it still holds our
        token, and the digest names it from then on; never raises. A lease left unconfirmed
        ends on its own; the next claim of its key then succeeds, and the insert finds the
        notification stored under this one."""
        ours = [c for c in confirmations if c.claim.token is not None]
        # The digest's generation is read before our updates: a clear or release meanwhile then
        # moves it past this one, and the digest naming the cleared key is refused.
        done = self._for_each(
            ours, self._confirm, "Cooldown confirm failed", before=self._read_digest
        )
        if done is None:
            return
        client, digest, answers = done
        confirmed = {
            c.claim.key: expires for c, expires in zip(ours, answers, strict=True) if expires
        }
        if confirmed and digest is not None:
            self._add_to_digest(client, digest, confirmed, _epoch_seconds(now))

    def _for_each(
        self,
        items: Sequence[_Item],
        call: Callable[[DynamoDBClient, _Item], _Answer],
        failure: str,
        *,
        before: Callable[[DynamoDBClient], _First] | None = None,
    ) -> tuple[DynamoDBClient, _First | None, list[_Answer]] | None:
        """`before` once, then `call` for every item, concurrently; None when there is nothing
        to do or no client (logged as `failure`)."""
        if not items:
            return None
        try:
            client = self._dynamodb()
        except dynamodb_errors() as error:
            logger.warning(failure, extra={"reason": describe_dynamodb_error(error)})
            return None
        first = None if before is None else before(client)
        workers = min(self._max_workers, len(items))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cooldown") as pool:
            return client, first, list(pool.map(lambda item: call(client, item), items))

    def _add_to_digest(
        self,
        client: DynamoDBClient,
        digest: dynamodb_digest.Digest,
        entries: dict[CooldownKey, int],
        now_epoch: float,
    ) -> None:
        """`digest`'s live entries plus `entries`, written under its generation."""
        floor_now = math.floor(now_epoch)
        named = {} if digest.entries is None else digest.entries
        live = {key: expires for key, expires in named.items() if expires > floor_now}
        self._write_digest(client, digest.generation, {**live, **entries}, now_epoch)

    def _confirm(self, client: DynamoDBClient, confirmation: Confirmation) -> int | None:
        """The confirmed entry's expires_at; None when it was not ours any more or failed."""
        claim = confirmation.claim
        expires_at = math.ceil(_epoch_seconds(confirmation.since) + self.window.total_seconds())
        try:
            client.update_item(
                TableName=self.table_name,
                Key={PARTITION_KEY: {"S": self.partition_key(claim.key)}},
                UpdateExpression="SET #expires_at = :expires_at, #phase = :cooldown",
                # Cleared by an operator meanwhile: the entry stays gone.
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={
                    "#expires_at": TTL_ATTRIBUTE,
                    "#phase": "phase",
                    "#token": "token",
                },
                ExpressionAttributeValues={
                    ":expires_at": {"N": str(expires_at)},
                    ":cooldown": {"S": COOLDOWN},
                    ":token": {"S": claim.token or ""},
                },
            )
        except dynamodb_errors() as error:
            if not is_conditional_check_failure(error):
                logger.warning(
                    "Cooldown confirm failed",
                    extra={
                        "type": claim.key.type.value,
                        "reference_id": str(claim.key.reference_id),
                        "reason": describe_dynamodb_error(error),
                    },
                )
            return None
        return expires_at

    def release(self, claims: Sequence[Claim]) -> None:
        """Delete our entries, each only while it still holds our token; never raises.

        Claims that failed unanswered carry a token too: their entry may exist. A release
        that fails is logged: the entry then expires on its own (the alert waits one window),
        which is better than failing the run that tried to clean up.
        """
        ours = [c for c in claims if c.token is not None]
        if self._for_each(ours, self._release, "Cooldown release failed") is None:
            return
        # A digest written in this run lists these entries as live.
        self._invalidate_digest()

    def _release(self, client: DynamoDBClient, claim: Claim) -> None:
        try:
            client.delete_item(
                TableName=self.table_name,
                Key={PARTITION_KEY: {"S": self.partition_key(claim.key)}},
                # Someone may have claimed again after ours expired: never delete their entry.
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":token": {"S": claim.token or ""}},
            )
        except dynamodb_errors() as error:
            if not is_conditional_check_failure(error):
                logger.warning(
                    "Cooldown release failed",
                    extra={
                        "type": claim.key.type.value,
                        "reference_id": str(claim.key.reference_id),
                        "reason": describe_dynamodb_error(error),
                    },
                )

    def rearm(
        self, keys: Sequence[CooldownKey], now: datetime, *, deadline: Deadline | None = None
    ) -> list[CooldownKey]:
        """Delete the confirmed cooldown windows of `keys` (their episodes are resolved) so the
        next claim of each succeeds; never a live lease (a claim in progress decides that key
        itself). Returns the keys settled: deleted, already absent, or held by a live lease; a
        key whose delete was not answered is left out (the caller retries it next run). Never
        raises for a store fault.

        One conditional DeleteItem per key, concurrently, each refused while the entry is a
        live lease: that run's notification is not committed yet, so no PostgreSQL row stops a
        second run that claimed after a delete from storing its alert too. A confirmed window
        (or an entry without phase, written before leases) may go: its committed row keeps an
        insert from storing its alert again. Then the bump, whatever the deletes did (a delete
        may land unanswered: no digest naming it may count). Rather than leave the next runs
        reading every entry until a digest is rebuilt, the digest read *before* the deletes
        (generation g) is written again without `keys` and its expired entries, under the new
        generation, but only when the bump answered exactly g + 1. When the bump fails nothing
        is settled: a digest may still name deleted entries, and the caller's retry bumps again.

        Why that digest is true. When read it was valid under g, so it reflects every early
        deletion whose bump had landed by then. Any other deletion bumps after our read: before
        our bump (ours then answers more than g + 1: nothing is written), between our bump and
        our write (the write, conditional on g + 1, is refused) or after our write (its bump
        invalidates it, as for any writer). Claims take only missing or expired entries and
        confirms only turn a lease into its window, so neither makes a named (key, expires_at)
        false meanwhile; what they wrote that the digest lacks is simply read from the entries.
        Every requested key is left out, settled or not: an unanswered delete may land even
        after our write.
        """
        now_epoch = _epoch_seconds(now)
        floor_now = math.floor(now_epoch)
        unique = list(dict.fromkeys(keys))
        if not unique:
            return []
        try:
            client = self._dynamodb()
        except dynamodb_errors() as error:
            logger.warning(
                "Cooldown rearm failed", extra={"reason": describe_dynamodb_error(error)}
            )
            return []
        # Read before our bump: its generation is the one the bump must move on from by one.
        digest = self._read_digest(client)
        done = None
        try:
            done = self._for_each(
                unique,
                lambda c, key: self._rearm_entry(c, key, floor_now, deadline),
                "Cooldown rearm failed",
            )
        finally:
            # Even after failed or broken deletes: no digest naming a deleted entry may count.
            generation = self._invalidate_digest()
        if done is None or generation is None:
            return []
        settled = [key for key, ok in zip(unique, done[2], strict=True) if ok]
        if len(settled) < len(unique):
            logger.warning(
                "Cooldown rearm incomplete",
                extra={"left": len(unique) - len(settled), "keys": len(unique)},
            )
        if digest is None or not digest.entries or generation != digest.generation + 1:
            return settled  # left invalid: the next run reads the entries (slower, never wrong)
        gone = set(unique)
        rest = {
            key: expires
            for key, expires in digest.entries.items()
            if expires > floor_now and key not in gone
        }
        # An empty digest would save no read: every key it does not name is read anyway.
        if rest:
            self._write_digest(client, generation, rest, now_epoch)
        return settled

    def _rearm_entry(
        self, client: DynamoDBClient, key: CooldownKey, floor_now: int, deadline: Deadline | None
    ) -> bool:
        """Whether `key` is settled: its entry deleted or absent. Not when a live lease holds it
        (left alone), the delete failed, or the run's time ran out before it started: the next
        run tries again."""
        if deadline is not None and deadline.expired():
            return False
        try:
            client.delete_item(
                TableName=self.table_name,
                Key={PARTITION_KEY: {"S": self.partition_key(key)}},
                # A missing item passes too (it has no phase); an expired lease may go.
                ConditionExpression=(
                    "attribute_not_exists(#phase) OR #phase <> :lease OR #expires_at <= :now"
                ),
                ExpressionAttributeNames={"#phase": "phase", "#expires_at": TTL_ATTRIBUTE},
                ExpressionAttributeValues={
                    ":lease": {"S": LEASE},
                    ":now": {"N": str(floor_now)},
                },
            )
        except dynamodb_errors() as error:
            if is_conditional_check_failure(error):
                # A live lease: left alone, and not settled. Its run may confirm it as the
                # resolved episode's window (its insert read the rows before the resolution
                # committed); the next run's rearm then deletes whatever the lease became.
                return False
            logger.warning(
                "Cooldown rearm failed",
                extra={
                    "type": key.type.value,
                    "reference_id": str(key.reference_id),
                    "reason": describe_dynamodb_error(error),
                },
            )
            return False
        return True

    # -- reads and maintenance (dynamodb_scans.py) -------------------------------------------

    def stats(self, now: datetime) -> dict[str, int]:
        """Live entries by type; raises DependencyUnavailableError when the table does not
        answer."""
        try:
            return dynamodb_scans.count_live_by_type(
                self._dynamodb(), self.table_name, math.floor(_epoch_seconds(now))
            )
        except dynamodb_errors() as error:
            raise _table_unavailable(error) from error

    def clear(self, *, type: str | None = None, reference_id: UUID | None = None) -> int:
        """Delete matching entries (expired ones too) and return how many were deleted.

        Raises DependencyUnavailableError when the table does not answer.
        """
        # A NotificationType (a StrEnum) is welcome too: str() gives its value.
        type = None if type is None else str(type)
        try:
            return dynamodb_scans.delete_matching(
                self._dynamodb(), self.table_name, type, reference_id, self._max_workers
            )
        except dynamodb_errors() as error:
            raise _table_unavailable(error) from error
        finally:
            # Even when nothing (or not everything) was deleted: a clear repeated after a
            # lost invalidation must repair it.
            self._invalidate_digest()

    def ping(self) -> None:
        """DescribeTable; raises DependencyUnavailableError when the table does not answer."""
        try:
            self._dynamodb().describe_table(TableName=self.table_name)
        except dynamodb_errors() as error:
            raise _table_unavailable(error) from error


def _table_unavailable(error: Exception) -> DependencyUnavailableError:
    logger.warning("Cooldown table unavailable", extra={"reason": describe_dynamodb_error(error)})
    return DependencyUnavailableError("The cooldown table did not answer.")
