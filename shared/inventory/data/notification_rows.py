"""Stored notifications: batched inserts (one round trip per run) and recent reads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg.rows import dict_row, tuple_row

from inventory.models.numbers import json_number
from inventory.rules.alert_types import NotificationDraft

# One statement per batch. `stored` finds, for each draft, a row already committed under its
# claim (an earlier attempt of this insert whose answer was lost) or a row of the same (type,
# reference) still holding its cooldown (a run that died after committing, before confirming
# its claim, whose lease then ended): those drafts are not stored again. ON CONFLICT covers an
# earlier attempt still in flight on the server. Each new row joins the open episode of its key
# or opens one (migration 0007): a new alert means its condition holds, so the episode's
# `clear_since` is reset. Episodes are written in key order, the order the resolution locks them
# in too (data/notification_episodes.py), so the two never deadlock. The final SELECT hands the
# results back in the input order (RETURNING alone promises no order).
_INSERT = """
    WITH drafts AS (
        SELECT d.*, gen_random_uuid() AS new_id
        FROM unnest(
            %(claim_token)s::uuid[],
            %(type)s::text[], %(priority)s::text[], %(title)s::text[], %(message)s::text[],
            %(reference_type)s::text[], %(reference_id)s::uuid[], %(data)s::text[]
        ) WITH ORDINALITY AS d(claim_token, type, priority, title, message,
                                reference_type, reference_id, data, position)
    ),
    stored AS (
        SELECT DISTINCT ON (drafts.position)
            drafts.position, n.id, n.cooldown_from, n.claim_token = drafts.claim_token AS ours
        FROM drafts
        JOIN notifications n
          ON n.claim_token = drafts.claim_token
          OR (n.reference_id = drafts.reference_id AND n.type = drafts.type
              AND n.cooldown_from > %(window_start)s AND n.cooldown_cleared_at IS NULL)
        ORDER BY drafts.position, ours DESC, n.cooldown_from DESC
    ),
    fresh AS (
        SELECT * FROM drafts
        WHERE NOT EXISTS (SELECT 1 FROM stored WHERE stored.position = drafts.position)
    ),
    episodes AS (
        INSERT INTO notification_episodes AS e
            (type, reference_type, reference_id, opened_at, first_notification_id)
        SELECT DISTINCT ON (type, reference_id) type, reference_type, reference_id, %(now)s, new_id
        FROM fresh
        ORDER BY type, reference_id, position
        ON CONFLICT (type, reference_id) WHERE resolved_at IS NULL
        DO UPDATE SET clear_since = NULL
        RETURNING e.id, e.type, e.reference_id
    ),
    inserted AS (
        INSERT INTO notifications
            (id, type, priority, title, message, reference_type, reference_id, data, claim_token,
             cooldown_from, episode_id)
        SELECT f.new_id, f.type, f.priority, f.title, f.message, f.reference_type,
               f.reference_id, f.data::jsonb, f.claim_token, %(now)s, episodes.id
        FROM fresh f
        JOIN episodes ON episodes.type = f.type AND episodes.reference_id = f.reference_id
        ON CONFLICT (claim_token) DO NOTHING
        RETURNING id, claim_token
    )
    SELECT coalesce(inserted.id, stored.id) AS id,
           CASE WHEN inserted.id IS NOT NULL THEN 'new'
                WHEN stored.ours IS FALSE THEN 'in_window'
                ELSE 'retried' END AS stored,
           coalesce(stored.cooldown_from, %(now)s) AS cooldown_from
    FROM drafts
    LEFT JOIN inserted USING (claim_token)
    LEFT JOIN stored USING (position)
    ORDER BY drafts.position
"""

# An operator's clear: every chosen row that may still hold its cooldown stops holding it, so
# the next claim of its key may be stored again. Not bounded by the window: a run's `now` is
# its own, and rows marked once are left out by the partial index from then on.
_CLEAR_COOLDOWNS = """
    UPDATE notifications SET cooldown_cleared_at = now()
    WHERE cooldown_cleared_at IS NULL AND cooldown_from IS NOT NULL
      AND (%(type)s::text IS NULL OR type = %(type)s::text)
      AND (%(reference_id)s::uuid IS NULL OR reference_id = %(reference_id)s::uuid)
"""


@dataclass(frozen=True, slots=True)
class ClaimedDraft:
    """A draft and the cooldown claim it is stored under: at most one row per claim token."""

    draft: NotificationDraft
    claim_token: UUID


class Stored(StrEnum):
    NEW = "new"  # this statement stored it
    RETRIED = "retried"  # an earlier attempt of ours had stored it (its answer was lost)
    IN_WINDOW = "in_window"  # a row of the same key holds its cooldown: a dead run's, say


@dataclass(frozen=True, slots=True)
class InsertResult:
    # None only when an earlier attempt of ours was still committing on the server.
    id: UUID | None
    stored: Stored
    # When the stored row's cooldown window counts from.
    cooldown_from: datetime


@dataclass(frozen=True, slots=True)
class StoredNotification:
    id: UUID
    type: str
    priority: str
    title: str
    message: str
    reference_type: str
    reference_id: UUID
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


def _json_value(value: Any) -> Any:
    """Figures the rules may leave as Python values, written as JSON a client can read."""
    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_text(data: dict[str, Any]) -> str:
    """A draft's `data` as the JSON text stored in the jsonb column."""
    return json.dumps(data, default=_json_value)


def insert_claimed(
    connection: psycopg.Connection[Any],
    claimed: Sequence[ClaimedDraft],
    *,
    now: datetime,
    window: timedelta | None,
) -> list[InsertResult]:
    """Store every draft that is neither stored under its claim already nor inside the cooldown
    window of a row of its key (`window` None: no cooldown), in one statement; the results in
    the order of `claimed`. Each stored row's window counts from `now`.

    All new rows are written or none (one statement), and running it again with the same
    tokens stores nothing more: it may be retried whatever became of an earlier attempt. No
    draft, no query.
    """
    if not claimed:
        return []
    drafts = [c.draft for c in claimed]
    columns: dict[str, Any] = {
        "now": now,
        "window_start": None if window is None else now - window,
        "claim_token": [c.claim_token for c in claimed],
        "type": [d.type.value for d in drafts],
        "priority": [d.priority.value for d in drafts],
        "title": [d.title for d in drafts],
        "message": [d.message for d in drafts],
        "reference_type": [d.reference_type.value for d in drafts],
        "reference_id": [d.reference_id for d in drafts],
        "data": [json_text(d.data) for d in drafts],
    }
    with connection.cursor(row_factory=tuple_row) as cursor:
        cursor.execute(_INSERT, columns)
        return [InsertResult(row[0], Stored(row[1]), row[2]) for row in cursor.fetchall()]


def insert_notifications(
    connection: psycopg.Connection[Any], drafts: Sequence[NotificationDraft]
) -> list[UUID]:
    """Store every draft under a claim of its own, with no cooldown: the new ids in order.
    For tools and tests (not retry-safe: each call draws new tokens)."""
    results = insert_claimed(
        connection,
        [ClaimedDraft(d, uuid4()) for d in drafts],
        now=datetime.now(UTC),
        window=None,
    )
    return [r.id for r in results if r.id is not None]


def clear_cooldowns(
    connection: psycopg.Connection[Any],
    *,
    type: str | None,
    reference_id: UUID | None,
) -> int:
    """Rows of that type and/or reference (all when both are None) stop holding their
    cooldown; how many did."""
    with connection.cursor() as cursor:
        cursor.execute(
            _CLEAR_COOLDOWNS,
            {"type": type, "reference_id": reference_id},
        )
        return cursor.rowcount


def recent_notifications(
    connection: psycopg.Connection[Any], limit: int = 20
) -> list[StoredNotification]:
    """The newest notifications first (ties by id, so the order is stable)."""
    with connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(
            "SELECT id, type, priority, title, message, reference_type, reference_id, data,"
            " created_at, read_at FROM notifications"
            " ORDER BY created_at DESC, id LIMIT %s",
            (max(0, limit),),
        )
        return [StoredNotification(**row) for row in cursor.fetchall()]
