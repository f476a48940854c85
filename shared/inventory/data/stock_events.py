"""The `stock_events` outbox (migration 0011): the `stock.changed` events owed to the bus.

- `insert` writes an event in the writer's open transaction (one statement, no commit of its
  own): the event exists exactly when the sale or movement does.
- `pending` (the ids a writer just committed) and `unpublished` (the sweep's: owed for longer
  than `older_than`, by the database's clock, which wrote `created_at`) read what to publish;
- `mark_published` and `record_failure` write what EventBridge made of them. Each runs alone
  in autocommit and may run again: a row already published is left as it is, so a mark
  repeated, or one that lost a race with another publisher, changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from inventory.rules.stock_events import StockChanged, detail_of

# A refusal's text is kept for the operator, not a whole answer.
_ERROR_CHARACTERS = 1000

_INSERT = "INSERT INTO stock_events (id, detail) VALUES (%(id)s, %(detail)s::jsonb)"

_PENDING = """
    SELECT id, detail::text AS detail FROM stock_events
    WHERE id = ANY(%(ids)s::uuid[]) AND published_at IS NULL
    ORDER BY created_at, id
"""

_UNPUBLISHED = """
    SELECT id, detail::text AS detail FROM stock_events
    WHERE published_at IS NULL AND created_at < now() - %(older_than)s::interval
    ORDER BY attempts, created_at, id
    LIMIT %(limit)s
"""

_MARK_PUBLISHED = """
    UPDATE stock_events SET published_at = now(), attempts = attempts + 1
    WHERE id = ANY(%(ids)s::uuid[]) AND published_at IS NULL
"""

_RECORD_FAILURE = """
    UPDATE stock_events SET attempts = attempts + 1, last_error = %(error)s
    WHERE id = ANY(%(ids)s::uuid[]) AND published_at IS NULL
"""


@dataclass(frozen=True, slots=True)
class OwedEvent:
    """An event still to publish: its id and its Detail (the JSON text stored)."""

    id: UUID
    detail: str


def insert(connection: psycopg.Connection[Any], event: StockChanged) -> UUID:
    """Owe `event` in the caller's open transaction; its id (the event's `event_id`)."""
    connection.execute(_INSERT, {"id": event.event_id, "detail": detail_of(event)})
    return event.event_id


def _owed(
    connection: psycopg.Connection[Any], statement: str, params: dict[str, Any]
) -> list[OwedEvent]:
    with connection.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(statement, params).fetchall()
    return [OwedEvent(row["id"], row["detail"]) for row in rows]


def pending(connection: psycopg.Connection[Any], ids: Sequence[UUID]) -> list[OwedEvent]:
    """Those of `ids` still unpublished (a row already published, or absent, is left out)."""
    return _owed(connection, _PENDING, {"ids": list(ids)})


def unpublished(
    connection: psycopg.Connection[Any], *, older_than: timedelta, limit: int
) -> list[OwedEvent]:
    """At most `limit` events owed for longer than `older_than`: fewest attempts first, then
    the oldest."""
    return _owed(connection, _UNPUBLISHED, {"older_than": older_than, "limit": limit})


def mark_published(connection: psycopg.Connection[Any], ids: Sequence[UUID]) -> int:
    """Record that EventBridge took them; how many rows that changed."""
    if not ids:
        return 0
    return connection.execute(_MARK_PUBLISHED, {"ids": list(ids)}).rowcount


def record_failure(connection: psycopg.Connection[Any], ids: Sequence[UUID], error: str) -> int:
    """Record a publishing attempt of each that failed, and why; how many rows that changed."""
    if not ids:
        return 0
    params = {"ids": list(ids), "error": error[:_ERROR_CHARACTERS]}
    return connection.execute(_RECORD_FAILURE, params).rowcount
