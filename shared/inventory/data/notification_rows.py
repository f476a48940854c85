"""Stored notifications: batched inserts (one round trip per run) and recent reads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row, tuple_row

from inventory.models.numbers import json_number
from inventory.rules.alert_types import NotificationDraft

# The ids are drawn in the `drafts` CTE, which is read twice and therefore materialised once:
# the INSERT stores them and the final SELECT hands them back in the input order (RETURNING
# alone promises no order).
_INSERT = """
    WITH drafts AS (
        SELECT gen_random_uuid() AS id, d.*
        FROM unnest(
            %(type)s::text[], %(priority)s::text[], %(title)s::text[], %(message)s::text[],
            %(reference_type)s::text[], %(reference_id)s::uuid[], %(data)s::text[]
        ) WITH ORDINALITY AS d(type, priority, title, message, reference_type, reference_id,
                                data, position)
    ),
    inserted AS (
        INSERT INTO notifications
            (id, type, priority, title, message, reference_type, reference_id, data)
        SELECT id, type, priority, title, message, reference_type, reference_id, data::jsonb
        FROM drafts
        RETURNING id
    )
    SELECT drafts.id
    FROM drafts JOIN inserted USING (id)
    ORDER BY drafts.position
"""


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


def insert_notifications(
    connection: psycopg.Connection[Any], drafts: Sequence[NotificationDraft]
) -> list[UUID]:
    """Store every draft in one statement; returns the new ids in the order of `drafts`.

    All rows are written or none (one statement). No draft, no query.
    """
    if not drafts:
        return []
    columns: dict[str, list[Any]] = {
        "type": [d.type.value for d in drafts],
        "priority": [d.priority.value for d in drafts],
        "title": [d.title for d in drafts],
        "message": [d.message for d in drafts],
        "reference_type": [d.reference_type.value for d in drafts],
        "reference_id": [d.reference_id for d in drafts],
        "data": [json.dumps(d.data, default=_json_value) for d in drafts],
    }
    with connection.cursor(row_factory=tuple_row) as cursor:
        cursor.execute(_INSERT, columns)
        return [row[0] for row in cursor.fetchall()]


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
