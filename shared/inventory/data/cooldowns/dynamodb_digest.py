"""A digest of the live cooldown entries, kept in the cooldown table beside the entries.

Why: with the cooldown warm, a large catalogue has thousands of live entries, and learning
which alerts they suppress by reading each entry costs a BatchGetItem per 100 keys and a read
unit per entry, every run (docs/performance.md). So after its claims a run writes one digest of
every entry it knows to be live (type, reference and expires_at: 21 bytes each, packed into
items well below DynamoDB's 400 KB limit), and the next run reads it in two requests. Entries
stay one item each with their TTL (SPEC §4); the digest only lets a run skip the reads.

Why it can be trusted: a live entry never changes before it expires (a claim succeeds only on a
missing or expired entry), so a digest's (key, expires_at) stays true until expires_at, unless
an entry is deleted early: by `clear` (an operator), by `release` (an insert that failed) or
by `rearm` (an episode resolved). All three bump the header's `generation` *after* deleting,
and a digest counts only when it was written under the current generation. A writer writes
conditionally on the generation it read before its own reads, so a digest built from a view
older than a deletion is refused. (`rearm` then writes the digest it read minus its keys under
the generation its own bump made, when that bump was the only one since its read: see
DynamoCooldownStore.rearm.)

Items: the header `#digest` (generation, and which run's chunks form the digest) and the chunks
`#digest#<run>#<n>`. Entry keys are `<type>#<uuid>`, so they never collide, and none of these
items has a `type` attribute, which is how stats and clear leave them alone.
"""

from __future__ import annotations

import contextlib
import math
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from inventory.data.cooldowns.dynamodb_batches import get_all, write_all
from inventory.data.cooldowns.dynamodb_client import dynamodb_errors, is_conditional_check_failure
from inventory.rules.alert_types import CooldownKey, NotificationType

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

HEADER_KEY = "#digest"
_ENTRY = struct.Struct(">B16sI")  # type code, reference id bytes, expires_at (epoch seconds)
ENTRIES_PER_CHUNK = 16_000  # 336 KB of entries per item


class DigestFormatError(ValueError):
    """A chunk that does not decode (truncated, or a type this code does not know)."""


class DigestEntries(Mapping[CooldownKey, int]):
    """Decoded entries, read like any mapping of CooldownKey to expires_at.

    Held by (type, reference id bytes) as they come out of the chunks: decoding builds no UUID
    and no CooldownKey per entry; a lookup puts the key into that form instead.
    """

    __slots__ = ("_packed",)

    def __init__(self, packed: dict[tuple[NotificationType, bytes], int]) -> None:
        self._packed = packed

    def __getitem__(self, key: CooldownKey) -> int:
        return self._packed[(key.type, key.reference_id.bytes)]

    def get(self, key: CooldownKey, default: Any = None) -> Any:
        # Mapping's get goes through __getitem__ and a KeyError per miss: this is the hot path.
        return self._packed.get((key.type, key.reference_id.bytes), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, CooldownKey) and (key.type, key.reference_id.bytes) in self._packed

    def __iter__(self) -> Iterator[CooldownKey]:
        return (CooldownKey(kind, UUID(bytes=reference)) for kind, reference in self._packed)

    def __len__(self) -> int:
        return len(self._packed)


@dataclass(frozen=True, slots=True)
class Digest:
    """The header's generation and, when a digest is valid under it, its live entries."""

    generation: int
    entries: Mapping[CooldownKey, int] = field(default_factory=dict)


# --- packing (pure) ---------------------------------------------------------------------------


def encode(entries: Mapping[CooldownKey, int], types: Sequence[str]) -> list[bytes]:
    """Entries packed into chunks of at most ENTRIES_PER_CHUNK; type codes index `types`."""
    codes = {value: code for code, value in enumerate(types)}
    packed = [
        _ENTRY.pack(codes[key.type.value], key.reference_id.bytes, expires_at)
        for key, expires_at in entries.items()
    ]
    return [
        b"".join(packed[start : start + ENTRIES_PER_CHUNK])
        for start in range(0, len(packed), ENTRIES_PER_CHUNK)
    ]


def decode(chunks: Sequence[bytes], types: Sequence[str]) -> DigestEntries:
    """The entries of `encode`'s chunks; DigestFormatError when a chunk does not decode."""
    try:
        known = [NotificationType(value) for value in types]
    except ValueError as error:
        raise DigestFormatError(f"unknown notification type in digest: {error}") from None
    packed: dict[tuple[NotificationType, bytes], int] = {}
    for chunk in chunks:
        if len(chunk) % _ENTRY.size:
            raise DigestFormatError("truncated digest chunk")
        for code, reference, expires_at in _ENTRY.iter_unpack(chunk):
            if code >= len(known):
                raise DigestFormatError(f"unknown type code {code} in digest")
            packed[(known[code], reference)] = expires_at
    return DigestEntries(packed)


# --- the table ---------------------------------------------------------------------------------


def _chunk_key(run: str, index: int) -> str:
    return f"{HEADER_KEY}#{run}#{index}"


def _key(partition_key: str, value: str) -> dict[str, Any]:
    return {partition_key: {"S": value}}


def read_digest(client: DynamoDBClient, table: str, partition_key: str) -> Digest:
    """The current digest: its generation always, its entries when it is valid and whole.

    Raises what the client raises when the table does not answer (the caller decides).
    """
    answer = client.get_item(
        TableName=table, Key=_key(partition_key, HEADER_KEY), ConsistentRead=True
    )
    header = answer.get("Item")
    if header is None:
        return Digest(generation=0)
    generation = int(header.get("generation", {}).get("N", "0"))
    run = header.get("digest_run", {}).get("S")
    if run is None or int(header.get("digest_generation", {}).get("N", "-1")) != generation:
        return Digest(generation)
    try:
        count = int(header["digest_chunks"]["N"])
        types = [value["S"] for value in header["digest_types"]["L"]]
    except (KeyError, ValueError):
        return Digest(generation)
    chunks = _read_chunks(client, table, partition_key, [_chunk_key(run, i) for i in range(count)])
    if chunks is None:
        # A newer digest replaced this one while we read it: read the entries instead.
        return Digest(generation)
    try:
        return Digest(generation, decode(chunks, types))
    except DigestFormatError:
        return Digest(generation)


def _read_chunks(
    client: DynamoDBClient, table: str, partition_key: str, keys: Sequence[str]
) -> list[bytes] | None:
    request = {"Keys": [_key(partition_key, k) for k in keys], "ConsistentRead": True}
    found = {
        item[partition_key]["S"]: item["entries"]["B"] for item in get_all(client, table, request)
    }
    if len(found) != len(keys):
        return None
    return [found[k] for k in keys]


def write_digest(
    client: DynamoDBClient,
    table: str,
    partition_key: str,
    *,
    generation: int,
    entries: Mapping[CooldownKey, int],
    now_epoch: float,
) -> bool:
    """Store `entries` as the digest, unless the generation moved since `generation` was read.

    Returns whether the digest was taken. The previous digest's chunks are deleted afterwards
    (a reader still holding the old header then finds them missing and reads entries instead);
    every chunk also expires by TTL when its last entry does, should a delete be lost.
    """
    types = [t.value for t in NotificationType]
    run = uuid4().hex
    chunks = encode(entries, types)
    expires_at = max(entries.values(), default=math.ceil(now_epoch))
    keys = [_chunk_key(run, index) for index in range(len(chunks))]
    puts = [
        {
            "PutRequest": {
                "Item": {
                    **_key(partition_key, k),
                    "entries": {"B": chunk},
                    "expires_at": {"N": str(expires_at)},
                }
            }
        }
        for k, chunk in zip(keys, chunks, strict=True)
    ]
    if not write_all(client, table, puts):
        _delete(client, table, partition_key, keys)
        return False
    try:
        answer = client.update_item(
            TableName=table,
            Key=_key(partition_key, HEADER_KEY),
            UpdateExpression=(
                "SET digest_generation = :generation, digest_run = :run, "
                "digest_chunks = :chunks, digest_types = :types, written_at = :now"
            ),
            # A clear or release since `generation` was read may have deleted entries this
            # digest still lists: then it must not be taken.
            ConditionExpression="attribute_not_exists(#generation) OR #generation = :generation",
            ExpressionAttributeNames={"#generation": "generation"},
            ExpressionAttributeValues={
                ":generation": {"N": str(generation)},
                ":run": {"S": run},
                ":chunks": {"N": str(len(chunks))},
                ":types": {"L": [{"S": t} for t in types]},
                ":now": {"N": str(math.floor(now_epoch))},
            },
            ReturnValues="ALL_OLD",
        )
    except dynamodb_errors() as error:
        _delete(client, table, partition_key, keys)
        if is_conditional_check_failure(error):
            return False
        raise
    old = answer.get("Attributes", {})
    old_run = old.get("digest_run", {}).get("S")
    if old_run is not None:
        count = int(old.get("digest_chunks", {}).get("N", "0"))
        _delete(client, table, partition_key, [_chunk_key(old_run, i) for i in range(count)])
    return True


def bump_generation(client: DynamoDBClient, table: str, partition_key: str) -> int:
    """Invalidate every digest written so far (call after deleting entries early); returns
    the new generation."""
    answer = client.update_item(
        TableName=table,
        Key=_key(partition_key, HEADER_KEY),
        UpdateExpression="ADD #generation :one",
        ExpressionAttributeNames={"#generation": "generation"},
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    return int(answer["Attributes"]["generation"]["N"])


def _delete(client: DynamoDBClient, table: str, partition_key: str, keys: Sequence[str]) -> None:
    """Best effort: a chunk left behind expires by TTL."""
    with contextlib.suppress(*dynamodb_errors()):
        write_all(client, table, [{"DeleteRequest": {"Key": _key(partition_key, k)}} for k in keys])
