"""Publishing `stock.changed` events (issue 18) from the `stock_events` outbox: right after the
commit of the sale or stock movement that owes them, and on every monitor run (the sweep).

A writer owes its event in its own transaction (`data/stock_events.insert`), then, after the
commit, calls `publish_after_commit` with the ids. Both publishers do the same three steps,
none of them inside the writer's transaction:
1. read the events still owed (one statement: those ids, or the sweep's rows owed for more
   than STALE_AFTER, so that a writer's own publish has had its chance);
2. PutEvents (data/event_bus.py: ten to a call, fail-fast, nothing raised);
3. one database use for the marks: published, and each refused event's attempt and reason.

Nothing here raises: whatever fails is logged, counted (the metric StockEventsPublishFailed:
the events a publish left owed; 1 for a sweep that could not even read them) and left owed,
and the next sweep (every 10 minutes) publishes it. So an event is never lost, and may be
published twice: when its mark failed after EventBridge took it, or when a writer and a sweep
publish it at once. Every copy carries the same `event_id`, on which consumers deduplicate.

Without STOCK_EVENT_BUS_NAME nothing is read or published: the events stay owed in the table,
and a bus configured later gets them through the sweep, at most MAX_PER_SWEEP a run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

import psycopg
from aws_lambda_powertools.metrics import MetricUnit
from psycopg.pq import TransactionStatus

from inventory.config import get_settings
from inventory.data import event_bus
from inventory.data.db import run_on_connection
from inventory.data.event_bus import BusEvent, Published
from inventory.data.stock_events import (
    OwedEvent,
    mark_published,
    pending,
    record_failure,
    unpublished,
)
from inventory.deadline import Deadline
from inventory.errors import InventoryError
from inventory.failures import describe_failure
from inventory.observability import logger, metrics

# How long an event is left to its writer's own publish before the sweep takes it.
STALE_AFTER = timedelta(minutes=1)
# Events one sweep publishes at most (fifty calls); the rest wait for the next run.
MAX_PER_SWEEP = 500
FAILED_METRIC = "StockEventsPublishFailed"


@dataclass(frozen=True, slots=True)
class Publication:
    published: int = 0  # events EventBridge took
    not_published: int = 0  # events left owed (for the sweep)
    errors: list[str] = field(default_factory=list)  # one line per cause


def publish_after_commit(ids: Sequence[UUID]) -> Publication:
    """Publish the events just committed under `ids` (those still owed). Never raises for a
    fault: what is not published stays owed for the sweep. Called inside the writer's open
    transaction (on the container's connection) it raises RuntimeError: a programming error."""
    if not ids:
        return Publication()

    def read(connection: psycopg.Connection[Any]) -> list[OwedEvent]:
        # Inside the writer's transaction the read would see, and publish, an event its
        # rollback may yet take back.
        if connection.info.transaction_status is not TransactionStatus.IDLE:
            raise RuntimeError("publish_after_commit is called after the commit, not inside it")
        return pending(connection, ids)

    return _publish(read, unread=len(ids))


def sweep(*, deadline: Deadline | None = None) -> Publication:
    """Publish the events owed for more than STALE_AFTER (by the database's clock), at most
    MAX_PER_SWEEP, fewest attempts first, stopping at `deadline`. Never raises."""
    if deadline is not None and deadline.expired():
        return Publication()
    return _publish(
        lambda connection: unpublished(connection, older_than=STALE_AFTER, limit=MAX_PER_SWEEP),
        unread=1,
        deadline=deadline,
    )


def _publish(
    read: Callable[[psycopg.Connection[Any]], list[OwedEvent]],
    *,
    unread: int,
    deadline: Deadline | None = None,
) -> Publication:
    try:
        bus_name = get_settings().stock_event_bus_name
        if not bus_name:
            return Publication()  # no bus configured: the events stay owed
        owed = run_on_connection(read)
    except (InventoryError, psycopg.Error) as error:
        return _failed(
            Publication(0, unread, [f"stock events not read: {describe_failure(error)}"])
        )
    if not owed:
        return Publication()
    published = event_bus.publish(
        bus_name, [BusEvent(event.id, event.detail) for event in owed], deadline=deadline
    )
    refused = _by_reason(published)
    errors = [f"stock events not published ({len(ids)}): {reason}" for reason, ids in refused]
    if published.untried:
        errors.append(f"stock events not tried ({len(published.untried)}): left for the sweep")
    try:
        # A rerun on a fresh connection may count a refused attempt twice: `attempts` only
        # orders the sweep's reads. A published event stays published.
        run_on_connection(lambda connection: _record(connection, published.taken, refused))
    except (InventoryError, psycopg.Error) as error:
        # EventBridge took them; unmarked, the sweep publishes them again (same event_id).
        errors.append(f"published stock events not marked: {describe_failure(error)}")
    outcome = Publication(len(published.taken), len(published.not_taken), errors)
    if outcome.not_published or errors:
        _failed(outcome, fixable=any(not r.retryable for r in published.refused.values()))
    return outcome


def _by_reason(published: Published) -> list[tuple[str, list[UUID]]]:
    grouped: defaultdict[str, list[UUID]] = defaultdict(list)
    for event_id, refusal in published.refused.items():
        grouped[refusal.reason].append(event_id)
    return list(grouped.items())


def _record(
    connection: psycopg.Connection[Any],
    taken: Sequence[UUID],
    refused: Sequence[tuple[str, list[UUID]]],
) -> None:
    """The marks: one statement for the published, one per distinct refusal (one in the usual
    case, a call that failed as a whole)."""
    mark_published(connection, taken)
    for reason, ids in refused:
        record_failure(connection, ids, reason)


def _failed(outcome: Publication, *, fixable: bool = False) -> Publication:
    """Log and count a publish that left events owed (or could not mark what it published)."""
    extra = {"not_published": outcome.not_published, "errors": outcome.errors}
    if fixable:  # EventBridge refused entries that no retry alone will get in
        logger.error("Stock events refused by EventBridge", extra=extra)
    else:
        logger.warning("Stock events not published", extra=extra)
    if outcome.not_published:
        metrics.add_metric(name=FAILED_METRIC, unit=MetricUnit.Count, value=outcome.not_published)
    return outcome
