"""The inbox's reads and marks on `notifications` (SPEC §9): keyset pages, one by id, read marks.

Order: newest first, (created_at DESC, id DESC). A page is the rows strictly after a cursor in
that order, `(created_at, id) < (cursor)`, read backward along one of migration 0006's
(…, created_at, id) indexes. Neither column of a stored row ever changes, so the position of
every row is fixed: a client paging older never sees a row twice or misses one that existed
when it started. `created_at` is when its insert started, not when it committed: a row whose
insert was slow can land below rows committed before it, so a client polling with `since`
should overlap its last instant by a few seconds (deduplicating by id).

Marks keep the first reader: `read_at` and `read_by` are set only while `read_at` is null, so
a repeated or concurrent mark changes nothing and says so (`marked` counts new marks only).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from inventory.models.inbox import InboxFilter, InboxItem, InboxState

# The cursor: the (created_at, id) of the last row of the previous page.
Position = tuple[datetime, UUID]

_COLUMNS = sql.SQL(
    "id, type, priority, title, message, reference_type, reference_id, data::text AS data,"
    " created_at, read_at, read_by, resolved_at, episode_id"
)


def _conditions(filters: InboxFilter) -> list[sql.Composable]:
    """The WHERE conditions of the filters given (values as literals)."""
    found: list[sql.Composable] = []
    if filters.state is InboxState.OPEN:
        found.append(sql.SQL("resolved_at IS NULL"))
    elif filters.state is InboxState.RESOLVED:
        found.append(sql.SQL("resolved_at IS NOT NULL"))
    if filters.unread is True:
        found.append(sql.SQL("read_at IS NULL"))
    elif filters.unread is False:
        found.append(sql.SQL("read_at IS NOT NULL"))
    if filters.type is not None:
        found.append(sql.SQL("type = {}").format(filters.type.value))
    if filters.priority is not None:
        found.append(sql.SQL("priority = {}").format(filters.priority.value))
    if filters.reference_id is not None:
        found.append(sql.SQL("reference_id = {}").format(filters.reference_id))
    if filters.since is not None:
        found.append(sql.SQL("created_at >= {}").format(filters.since))
    return found


def _loads(text: str) -> Any:
    # Every number as a Decimal: jsonb keeps the digits it was given, and so does the answer.
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


def _item(row: dict[str, Any]) -> InboxItem:
    return InboxItem.model_validate({**row, "data": _loads(row["data"])})


def _where(conditions: Sequence[sql.Composable]) -> sql.Composable:
    if not conditions:
        return sql.SQL("")
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions)


def fetch_page(
    connection: psycopg.Connection[Any],
    filters: InboxFilter,
    after: Position | None,
    limit: int,
) -> tuple[list[InboxItem], bool]:
    """The `limit` newest notifications matching `filters` older than `after` (in the list's
    order), and whether more follow. One statement: the filters are literals, so the planner
    picks the index of the filter at hand (a generic plan could not)."""
    conditions = _conditions(filters)
    if after is not None:
        conditions.append(sql.SQL("(created_at, id) < ({}, {})").format(after[0], after[1]))
    statement = sql.SQL(
        "SELECT {columns} FROM notifications{where} ORDER BY created_at DESC, id DESC LIMIT {limit}"
    ).format(columns=_COLUMNS, where=_where(conditions), limit=limit + 1)
    with connection.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(statement, prepare=False).fetchall()
    return [_item(row) for row in rows[:limit]], len(rows) > limit


def fetch_one(connection: psycopg.Connection[Any], notification_id: UUID) -> InboxItem | None:
    statement = sql.SQL("SELECT {columns} FROM notifications WHERE id = %s").format(
        columns=_COLUMNS
    )
    with connection.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute(statement, (notification_id,)).fetchone()
    return None if row is None else _item(row)


def mark_one_read(
    connection: psycopg.Connection[Any], notification_id: UUID, reader: str
) -> InboxItem | None:
    """Mark it read by `reader` unless it is already read; the notification as it now stands
    (None when the id names nothing).

    The conditional UPDATE answers the usual case in one round trip. When it changes nothing
    (already read, by now or by a concurrent mark that won the row lock) a fresh statement reads
    the row: an UPDATE ... RETURNING of the old row, or a CTE reading it, would answer with the
    statement's snapshot, which may predate the winning mark.
    """
    update = sql.SQL(
        "UPDATE notifications SET read_at = now(), read_by = %s"
        " WHERE id = %s AND read_at IS NULL RETURNING {columns}"
    ).format(columns=_COLUMNS)
    with connection.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute(update, (reader, notification_id)).fetchone()
    if row is not None:
        return _item(row)
    return fetch_one(connection, notification_id)


def mark_ids_read(connection: psycopg.Connection[Any], ids: Sequence[UUID], reader: str) -> int:
    """Mark the unread ones of `ids` read by `reader`; how many were newly marked."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE notifications SET read_at = now(), read_by = %s"
            " WHERE id = ANY(%s::uuid[]) AND read_at IS NULL",
            (reader, list(ids)),
        )
        return cursor.rowcount


def mark_before_read(connection: psycopg.Connection[Any], before: datetime, reader: str) -> int:
    """Mark every unread notification created before `before` read by `reader`; how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE notifications SET read_at = now(), read_by = %s"
            " WHERE created_at < %s AND read_at IS NULL",
            (reader, before),
        )
        return cursor.rowcount
