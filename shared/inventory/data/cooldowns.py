"""Notification cooldowns: the interface the monitor uses, and its implementations.

`DynamoCooldownStore` keeps one item per (type, reference) in the DynamoDB table, plus a digest
of the live ones (data/cooldown_digest.py) that lets a warm run skip reading them; the
`DisabledCooldownStore` stands in when NOTIFICATION_COOLDOWN_HOURS is 0. `get_cooldown_store()`
picks one from the settings.

Faults, for callers: `claim_many` never raises for a DynamoDB fault (the claim comes back
FAILED with the reason) and `release` never raises (it logs); `stats`, `clear` and `ping` raise
DependencyUnavailableError. `now` must be timezone-aware (ValueError otherwise).
"""

from __future__ import annotations

import copy
import math
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID, uuid4

from inventory.config import get_settings
from inventory.data import cooldown_digest
from inventory.data.dynamo_batches import BATCH_GET_LIMIT, BATCH_WRITE_LIMIT, get_all, write_all
from inventory.deadline import Deadline
from inventory.errors import DependencyUnavailableError
from inventory.observability import logger
from inventory.rules.notification_draft import CooldownKey

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"  # no live entry existed; ours now blocks others until it expires
    SUPPRESSED = "suppressed"  # a live entry exists: inside the cooldown, send nothing
    FAILED = "failed"  # the store did not answer: send nothing (no claim, no send)
    DEFERRED = "deferred"  # the run's deadline passed before the claim was tried


@dataclass(frozen=True, slots=True)
class Claim:
    key: CooldownKey
    outcome: ClaimOutcome
    token: str | None = None  # identifies our entry, so release deletes only what we wrote
    error: str | None = None
    expires_at: int | None = None  # epoch seconds of the entry we wrote (CLAIMED only)


class CooldownStore(Protocol):
    def claim_many(
        self, keys: Sequence[CooldownKey], now: datetime, *, deadline: Deadline | None = None
    ) -> list[Claim]:
        """Atomically claim each key (conditional write), concurrently; same order as keys.

        Keys whose claim has not started when `deadline` expires come back DEFERRED.
        """
        ...

    def release(self, claims: Sequence[Claim]) -> None:
        """Delete our own entries again (the notification could not be stored)."""
        ...

    def stats(self, now: datetime) -> dict[str, int]:
        """Live entries (expires_at > now) counted by notification type."""
        ...

    def clear(self, *, type: str | None = None, reference_id: UUID | None = None) -> int:
        """Delete entries (all, one type, one reference); returns how many."""
        ...

    def ping(self) -> None:
        """Raise DependencyUnavailableError when the table does not answer."""
        ...

    def for_one_run(self) -> CooldownStore:
        """The store one monitor run claims through, made when the run starts: a store may
        start reading ahead here (the DynamoDB one reads its digest while the run's SQL runs)."""
        ...


# --- Implementations ---------------------------------------------------------------------

PARTITION_KEY = "pk"  # template.yaml's CooldownTable KeySchema; tests build the table from it
TTL_ATTRIBUTE = "expires_at"

# A dead endpoint must fail a claim within seconds, not hang the 15 s Lambda: short timeouts
# and one retry (standard mode backs off 25 ms for DynamoDB, so retries cost little).
_CONNECT_TIMEOUT_SECONDS = 2
_READ_TIMEOUT_SECONDS = 3
_TOTAL_ATTEMPTS = 2
# Concurrent claims per run; the client's connection pool is sized to match.
_MAX_WORKERS = 16


def _epoch_seconds(moment: datetime) -> float:
    if moment.tzinfo is None:
        raise ValueError("Cooldown times must be timezone-aware.")
    return moment.timestamp()


def _describe_failure(error: Exception) -> str:
    """A short reason for logs and run summaries: the AWS error code, never a stack trace."""
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "Unknown")
        return f"DynamoDB {code}: {error.response.get('Error', {}).get('Message', '')}".strip()
    return f"DynamoDB unreachable: {error}"


def _is_conditional_check_failure(error: Exception) -> bool:
    from botocore.exceptions import ClientError

    return (
        isinstance(error, ClientError)
        and error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
    )


def _dynamo_errors() -> tuple[type[Exception], ...]:
    """What a call to DynamoDB raises when it is refused or unreachable."""
    from botocore.exceptions import BotoCoreError, ClientError

    # ValueError: boto3 rejects a malformed AWS_ENDPOINT_URL_DYNAMODB when the client is built.
    return (ClientError, BotoCoreError, ValueError)


def create_dynamodb_client() -> DynamoDBClient:
    """A DynamoDB client that fails fast; boto3 reads AWS_ENDPOINT_URL_DYNAMODB itself."""
    # Imported here: boto3 costs about 250 ms of cold start and only cooldown users need it.
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=_CONNECT_TIMEOUT_SECONDS,
        read_timeout=_READ_TIMEOUT_SECONDS,
        retries={"total_max_attempts": _TOTAL_ATTEMPTS, "mode": "standard"},
        max_pool_connections=_MAX_WORKERS,
    )
    return boto3.client("dynamodb", config=config)


def _partition_key(type_value: str, reference_id: UUID) -> str:
    """The table's key of one (type, reference): `<type>#<reference id>`."""
    return f"{type_value}#{reference_id}"


class DynamoCooldownStore:
    """Cooldown entries in DynamoDB, one item per (type, reference), expiring by TTL.

    An item is live while `expires_at > now`: DynamoDB deletes expired items up to days late,
    so every read and every claim condition checks the attribute instead of trusting presence.
    Besides the protocol, `table_name` and `window` are readable attributes.
    """

    def __init__(
        self,
        table_name: str,
        window: timedelta,
        client: DynamoDBClient | None = None,
        *,
        max_workers: int = _MAX_WORKERS,
    ) -> None:
        if window <= timedelta(0):
            raise ValueError("The cooldown window must be positive; use DisabledCooldownStore.")
        self.table_name = table_name
        self.window = window
        self._client = client
        self._client_lock = threading.Lock()
        self._max_workers = max(1, max_workers)
        self._digest_ahead: Future[cooldown_digest.Digest | None] | None = None

    def for_one_run(self) -> DynamoCooldownStore:
        """A copy of this store for one run, whose digest is already being read in a thread:
        the run's SQL and the digest's two requests overlap (make bench, 100k packages: about
        90 ms of a warm run). Its claims use that read; it is the same as reading the digest
        when the run started, which the runs already did."""
        try:
            client = self._dynamodb()  # before the copy, so the container keeps one client
        except _dynamo_errors():
            return self  # claim_many reports it
        ahead = copy.copy(self)
        reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cooldown-digest")
        try:
            # _read_digest never raises for a DynamoDB fault (None: entries are read instead).
            ahead._digest_ahead = reader.submit(self._read_digest, client)
        finally:
            reader.shutdown(wait=False)  # the thread ends with its one read
        return ahead

    def _dynamodb(self) -> DynamoDBClient:
        with self._client_lock:
            if self._client is None:
                self._client = create_dynamodb_client()
            return self._client

    @staticmethod
    def partition_key(key: CooldownKey) -> str:
        return _partition_key(key.type.value, key.reference_id)

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
        except _dynamo_errors() as error:
            reason = _describe_failure(error)
            return [Claim(key, ClaimOutcome.FAILED, error=reason) for key in keys]
        if len(keys) == 1:
            return [self._claim(client, keys[0], now, now_epoch, deadline)]
        # (make bench) With the cooldown warm, almost every key has a live entry. The digest
        # names most of them in two requests; one consistent BatchGetItem per 100 of the
        # others finds the rest, and only keys without a live entry pay a conditional PutItem.
        # Skipping a key seen live at `now` changes no outcome (its claim would fail at the
        # same `now`); the PutItem condition still decides every claim.
        floor_now = math.floor(now_epoch)
        digest = (
            self._read_digest(client) if self._digest_ahead is None else self._digest_ahead.result()
        )
        named = {} if digest is None else digest.entries
        # One lookup per key, not a filtered copy of the digest (made only when a digest is
        # written), and only the keys it does not name are deduplicated: warm, each of the
        # run's 16k keys is hashed once here (make bench).
        unknown = list(dict.fromkeys(key for key in keys if named.get(key, 0) <= floor_now))
        found = self._live_keys(client, unknown, floor_now)
        claims = [Claim(key, ClaimOutcome.SUPPRESSED) for key in keys]
        # Only the keys without a live entry go to the pool: a future per suppressed key
        # cost more than its answer (make bench: 16k keys, all live).
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
        claimed = {c.key: c.expires_at for c in claims if c.expires_at is not None}
        out_of_time = deadline is not None and deadline.expired()
        # Out of time, the insert of what was claimed comes first; the digest can wait a run.
        if digest is not None and (found or claimed) and not out_of_time:
            live = {key: expires for key, expires in named.items() if expires > floor_now}
            self._write_digest(client, digest.generation, {**live, **found, **claimed}, now_epoch)
        return claims

    # -- the digest of live entries (data/cooldown_digest.py) ---------------------------------

    def _read_digest(self, client: DynamoDBClient) -> cooldown_digest.Digest | None:
        """The digest, or None when it cannot be read (then no digest is written either)."""
        try:
            return cooldown_digest.read_digest(client, self.table_name, PARTITION_KEY)
        except _dynamo_errors() as error:
            logger.warning("Cooldown digest unreadable", extra={"reason": _describe_failure(error)})
            return None

    def _write_digest(
        self,
        client: DynamoDBClient,
        generation: int,
        entries: dict[CooldownKey, int],
        now_epoch: float,
    ) -> None:
        try:
            cooldown_digest.write_digest(
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
                "Cooldown digest not written", extra={"reason": _describe_failure(error)}
            )

    def _invalidate_digest(self) -> None:
        """After entries were deleted early: no digest written before now may be used."""
        try:
            cooldown_digest.bump_generation(self._dynamodb(), self.table_name, PARTITION_KEY)
        except _dynamo_errors() as error:
            # Until the bump lands, runs may trust a digest naming deleted entries, so this
            # is logged loudly: those alerts wait for their entries' expiry.
            logger.error(
                "Cooldown digest not invalidated", extra={"reason": _describe_failure(error)}
            )

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
        except _dynamo_errors() as error:
            logger.warning("Cooldown pre-read failed", extra={"reason": _describe_failure(error)})
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
        # Whole seconds, as DynamoDB's TTL wants; the ceiling keeps the window at least whole.
        expires_at = math.ceil(now_epoch + self.window.total_seconds())
        try:
            client.put_item(
                TableName=self.table_name,
                Item={
                    PARTITION_KEY: {"S": self.partition_key(key)},
                    "type": {"S": key.type.value},
                    "reference_id": {"S": str(key.reference_id)},
                    "claimed_at": {"S": now.isoformat()},
                    "token": {"S": token},
                    TTL_ATTRIBUTE: {"N": str(expires_at)},
                },
                # An expired entry DynamoDB has not deleted yet must not block the claim.
                ConditionExpression="attribute_not_exists(#pk) OR #expires_at <= :now",
                ExpressionAttributeNames={"#pk": PARTITION_KEY, "#expires_at": TTL_ATTRIBUTE},
                ExpressionAttributeValues={":now": {"N": str(math.floor(now_epoch))}},
            )
        except _dynamo_errors() as error:
            if _is_conditional_check_failure(error):
                return Claim(key, ClaimOutcome.SUPPRESSED)
            return Claim(key, ClaimOutcome.FAILED, error=_describe_failure(error))
        return Claim(key, ClaimOutcome.CLAIMED, token=token, expires_at=expires_at)

    def release(self, claims: Sequence[Claim]) -> None:
        """Delete our entries, each only while it still holds our token; never raises.

        A release that fails is logged: the entry then expires on its own (the alert waits
        one window), which is better than failing the run that tried to clean up.
        """
        ours = [c for c in claims if c.outcome is ClaimOutcome.CLAIMED and c.token is not None]
        if not ours:
            return
        try:
            client = self._dynamodb()
        except _dynamo_errors() as error:
            logger.warning("Cooldown release failed", extra={"reason": _describe_failure(error)})
            return
        workers = min(self._max_workers, len(ours))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cooldown") as pool:
            list(pool.map(lambda claim: self._release(client, claim), ours))
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
        except _dynamo_errors() as error:
            if not _is_conditional_check_failure(error):
                logger.warning(
                    "Cooldown release failed",
                    extra={
                        "type": claim.key.type.value,
                        "reference_id": str(claim.key.reference_id),
                        "reason": _describe_failure(error),
                    },
                )

    # -- reads and maintenance ---------------------------------------------------------------

    def _scan(
        self, projection: str, names: dict[str, str], condition: str, values: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        paginator = self._dynamodb().get_paginator("scan")
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "ProjectionExpression": projection,
            "ExpressionAttributeNames": names,
            "FilterExpression": condition,
        }
        if values:  # DynamoDB refuses an empty ExpressionAttributeValues
            arguments["ExpressionAttributeValues"] = values
        for page in paginator.paginate(**arguments):
            yield from page.get("Items", [])

    def stats(self, now: datetime) -> dict[str, int]:
        """Live entries by type: a paginated Scan reading only the type attribute.

        Raises DependencyUnavailableError when the table does not answer.
        """
        counts: Counter[str] = Counter()
        try:
            for item in self._scan(
                "#type",
                {"#type": "type", "#expires_at": TTL_ATTRIBUTE},
                # Digest items have no type: only entries are counted.
                "#expires_at > :now AND attribute_exists(#type)",
                {":now": {"N": str(math.floor(_epoch_seconds(now)))}},
            ):
                counts[item["type"]["S"]] += 1
        except _dynamo_errors() as error:
            raise _unavailable(error) from error
        return dict(counts)

    def clear(self, *, type: str | None = None, reference_id: UUID | None = None) -> int:
        """Delete matching entries (expired ones too) and return how many were deleted.

        Raises DependencyUnavailableError when the table does not answer.
        """
        # A NotificationType (a StrEnum) is welcome too: str() gives its value.
        type = None if type is None else str(type)
        try:
            return self._delete_matching(type, reference_id)
        except _dynamo_errors() as error:
            raise _unavailable(error) from error
        finally:
            # Even when nothing (or not everything) was deleted: a clear repeated after a
            # lost invalidation must repair it.
            self._invalidate_digest()

    def _delete_matching(self, type: str | None, reference_id: UUID | None) -> int:
        if type is not None and reference_id is not None:
            return self._delete_one(type, reference_id)
        # Digest items have no type attribute: a clear never touches them.
        conditions = ["attribute_exists(#type)"]
        names = {"#pk": PARTITION_KEY, "#type": "type"}
        values: dict[str, Any] = {}
        if type is not None:
            conditions.append("#type = :type")
            values[":type"] = {"S": type}
        if reference_id is not None:
            conditions.append("#reference_id = :reference_id")
            names["#reference_id"] = "reference_id"
            values[":reference_id"] = {"S": str(reference_id)}
        keys = [
            item[PARTITION_KEY]["S"]
            for item in self._scan("#pk", names, " AND ".join(conditions), values)
        ]
        self._delete_batch(keys)
        return len(keys)

    def _delete_one(self, type: str, reference_id: UUID) -> int:
        answer = self._dynamodb().delete_item(
            TableName=self.table_name,
            Key={PARTITION_KEY: {"S": _partition_key(type, reference_id)}},
            ReturnValues="ALL_OLD",
        )
        return 1 if answer.get("Attributes") else 0

    def _delete_batch(self, keys: Sequence[str]) -> None:
        """BatchWriteItem deletes of 25 keys each, sent concurrently like claims: clearing the
        16,672 entries of a 100k-package catalogue one batch after another would take 667
        round trips in a row, close to the function's 15 s."""
        if not keys:
            return
        client = self._dynamodb()
        batches = [
            keys[start : start + BATCH_WRITE_LIMIT]
            for start in range(0, len(keys), BATCH_WRITE_LIMIT)
        ]
        workers = min(self._max_workers, len(batches))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cooldown") as pool:
            # list() re-raises the first failure (a throttled or unreachable table).
            list(pool.map(lambda batch: self._delete_keys(client, batch), batches))

    def _delete_keys(self, client: DynamoDBClient, keys: Sequence[str]) -> None:
        deletes = [{"DeleteRequest": {"Key": {PARTITION_KEY: {"S": k}}}} for k in keys]
        if not write_all(client, self.table_name, deletes):
            raise DependencyUnavailableError("The cooldown table kept throttling deletes.")

    def ping(self) -> None:
        """DescribeTable; raises DependencyUnavailableError when the table does not answer."""
        try:
            self._dynamodb().describe_table(TableName=self.table_name)
        except _dynamo_errors() as error:
            raise _unavailable(error) from error


def _unavailable(error: Exception) -> DependencyUnavailableError:
    logger.warning("Cooldown table unavailable", extra={"reason": _describe_failure(error)})
    return DependencyUnavailableError("The cooldown table did not answer.")


class DisabledCooldownStore:
    """NOTIFICATION_COOLDOWN_HOURS=0: every claim succeeds and nothing is written."""

    def for_one_run(self) -> DisabledCooldownStore:
        return self

    def claim_many(
        self, keys: Sequence[CooldownKey], now: datetime, *, deadline: Deadline | None = None
    ) -> list[Claim]:
        return [Claim(key, ClaimOutcome.CLAIMED) for key in keys]

    def release(self, claims: Sequence[Claim]) -> None:
        return None

    def stats(self, now: datetime) -> dict[str, int]:
        return {}

    def clear(self, *, type: str | None = None, reference_id: UUID | None = None) -> int:
        return 0

    def ping(self) -> None:
        return None


@cache
def get_cooldown_store() -> CooldownStore:
    """The container's store, chosen from the settings; its client is built on first use."""
    settings = get_settings()
    hours = settings.notification_cooldown_hours
    if hours == 0:
        return DisabledCooldownStore()
    return DynamoCooldownStore(settings.cooldown_table_name, timedelta(seconds=float(hours * 3600)))
