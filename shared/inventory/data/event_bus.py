"""The stock event bus (EventBridge): `publish` puts `stock.changed` events with PutEvents.

Ten entries a call at most, and never more bytes than one call takes (256 KB, counted as
EventBridge counts an entry: Source, DetailType and Detail in UTF-8), with a margin. An event
too large for any call is refused without one.

Every event comes back in one of three lists, never as an exception:
- `taken`: EventBridge gave it an event id;
- `refused`: its entry failed (FailedEntryCount, the entry's ErrorCode), or its call failed as
  a whole (throttled, a 5xx, a timeout, no endpoint, no permission, no such bus). Each refusal
  says whether sending the same entry again can succeed by itself (`retryable`: throttling, an
  internal failure, an endpoint down) or needs someone to fix something first (a malformed
  detail, a missing permission or bus);
- `untried`: not sent, as a call before it failed as a whole (the next would wait out the same
  fault) or the deadline passed.

boto3 reads the endpoint from AWS_ENDPOINT_URL_EVENTBRIDGE (moto locally and in tests): the
variable is named after the service id, EventBridge, not the client name `events`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING
from uuid import UUID

from inventory.data.aws_clients import fail_fast_config
from inventory.deadline import Deadline
from inventory.failures import describe_failure
from inventory.rules.stock_events import DETAIL_TYPE, SOURCE

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

ENTRIES_PER_CALL = 10  # PutEvents' limit
# PutEvents' limit on a whole call (and so on one entry), with a margin.
MAX_CALL_BYTES = 256 * 1024 - 4 * 1024
# A publish runs after a sale's commit, while the POS waits for its answer: a hanging endpoint
# costs it a few seconds at most (the sweep publishes what this gave up on).
_CONNECT_TIMEOUT_SECONDS = 1
_READ_TIMEOUT_SECONDS = 2
_TOTAL_ATTEMPTS = 2

# The entry error codes EventBridge documents as not retryable (the retryable ones are
# InternalFailure and ThrottlingException). A code it adds later is taken as retryable.
_NOT_RETRYABLE_ENTRY_CODES = frozenset(
    {
        "AccessDeniedException",
        "InvalidAccountIdException",
        "InvalidArgument",
        "MalformedDetail",
        "NotAuthorizedForDetailTypeException",
        "NotAuthorizedForSourceException",
        "RedactionFailure",
    }
)
# A call failed as a whole with one of these: the same call later may succeed.
_RETRYABLE_CALL_CODES = frozenset(
    {"ThrottlingException", "InternalException", "InternalFailure", "ServiceUnavailable"}
)


@dataclass(frozen=True, slots=True)
class BusEvent:
    """One `stock.changed` event to put: its id (ours, the outbox row's) and its Detail."""

    id: UUID
    detail: str

    @property
    def size(self) -> int:
        """Its entry's size as EventBridge counts it (no Time, no Resources)."""
        return len(SOURCE.encode()) + len(DETAIL_TYPE.encode()) + len(self.detail.encode())


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: str
    retryable: bool


@dataclass(frozen=True, slots=True)
class Published:
    """What became of each event (by id), and how many calls that took."""

    taken: list[UUID] = field(default_factory=list)
    refused: dict[UUID, Refusal] = field(default_factory=dict)
    untried: list[UUID] = field(default_factory=list)
    calls: int = 0

    @property
    def not_taken(self) -> list[UUID]:
        return [*self.refused, *self.untried]


def batches(events: Sequence[BusEvent]) -> list[list[BusEvent]]:
    """Ten to a call at most, and never more bytes than PutEvents takes in one."""
    found: list[list[BusEvent]] = []
    size = 0
    for event in events:
        if not found or len(found[-1]) == ENTRIES_PER_CALL or size + event.size > MAX_CALL_BYTES:
            found.append([])
            size = 0
        found[-1].append(event)
        size += event.size
    return found


def publish(
    bus_name: str,
    events: Sequence[BusEvent],
    *,
    deadline: Deadline | None = None,
    client: EventBridgeClient | None = None,
) -> Published:
    """Put every event on the bus, ten to a call, until a call fails as a whole or `deadline`
    passes. Never raises for an EventBridge fault."""
    ids = [event.id for event in events]
    if len(set(ids)) != len(ids):
        raise ValueError("Bus events need distinct ids.")
    too_large = Refusal(f"too large for EventBridge ({MAX_CALL_BYTES} bytes a call)", False)
    refused = {event.id: too_large for event in events if event.size > MAX_CALL_BYTES}
    taken: list[UUID] = []
    calls = batches([event for event in events if event.id not in refused])
    for index, batch in enumerate(calls):
        if deadline is not None and deadline.expired():
            untried = [event.id for later in calls[index:] for event in later]
            return Published(taken, refused, untried, calls=index)
        try:
            answer = (client or events_client()).put_events(
                Entries=[_entry(bus_name, event) for event in batch]
            )
        except Exception as error:  # noqa: BLE001 (never raises: the outbox keeps the events)
            failed = _call_refusal(error)
            refused |= dict.fromkeys((event.id for event in batch), failed)
            untried = [event.id for later in calls[index + 1 :] for event in later]
            return Published(taken, refused, untried, calls=index + 1)
        results = answer.get("Entries", [])
        for position, event in enumerate(batch):
            result = results[position] if position < len(results) else {}
            if result.get("EventId") and not result.get("ErrorCode"):
                taken.append(event.id)
            else:
                refused[event.id] = _entry_refusal(
                    result.get("ErrorCode"), result.get("ErrorMessage")
                )
    return Published(taken, refused, [], calls=len(calls))


def _entry(bus_name: str, event: BusEvent) -> PutEventsRequestEntryTypeDef:
    return {
        "EventBusName": bus_name,
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": event.detail,
    }


def _entry_refusal(code: str | None, message: str | None) -> Refusal:
    if code is None:
        return Refusal("EventBridge did not report this entry", retryable=True)
    said = f"EventBridge {code}: {message or ''}".strip().rstrip(":")
    return Refusal(said, retryable=code not in _NOT_RETRYABLE_ENTRY_CODES)


def _call_refusal(error: Exception) -> Refusal:
    said = f"EventBridge {describe_failure(error)}"
    from botocore import exceptions

    if isinstance(error, exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return Refusal(said, retryable=code in _RETRYABLE_CALL_CODES or status >= 500)
    # No answer (a refused connection, a timeout): the endpoint may be back later. A bad
    # endpoint URL (ValueError), no region or no credentials will not be by themselves.
    return Refusal(
        said, retryable=isinstance(error, exceptions.ConnectionError | exceptions.HTTPClientError)
    )


def create_events_client() -> EventBridgeClient:
    """An EventBridge client that fails fast; boto3 reads AWS_ENDPOINT_URL_EVENTBRIDGE (or
    AWS_ENDPOINT_URL) itself."""
    # Imported here: boto3 is a large part of a cold start and only the publishers need it.
    import boto3

    config = fail_fast_config(
        connect_seconds=_CONNECT_TIMEOUT_SECONDS,
        read_seconds=_READ_TIMEOUT_SECONDS,
        attempts=_TOTAL_ATTEMPTS,
    )
    return boto3.client("events", config=config)


@cache
def events_client() -> EventBridgeClient:
    """The container's client, made on first use (tests clear the cache)."""
    return create_events_client()
