"""The `notification_subscriptions` table (migration 0008): insert, keyset pages, one by id,
changes, deletion, secret rotation.

The list is oldest first, (created_at, id): a page is the rows strictly after a cursor in that
order, read along idx_notification_subscriptions_created_id. Neither column changes, so a
client paging sees each subscription that existed when it started once.

Webhook secrets are bytes this module never opens (services/subscription_secrets.py seals
them); no statement here returns them but `fetch_sealed_secrets`, for delivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from inventory.models.subscriptions import Subscription

Position = tuple[datetime, UUID]  # the (created_at, id) of the last row of the previous page

# How long a rotated-out secret keeps signing beside the new one (SPEC §10).
PREVIOUS_SECRET_LIFETIME = timedelta(hours=24)

_COLUMNS = sql.SQL(
    "id, channel, target, types, min_priority, reference_ids, mode, digest_minutes,"
    " quiet_hours, send_resolved, webhook_secret IS NOT NULL AS has_secret,"
    " CASE WHEN webhook_secret_previous_expires_at > now()"
    " THEN webhook_secret_previous_expires_at END AS previous_secret_expires_at,"
    " disabled_at, disabled_reason, created_at, updated_at, created_by"
)
# The columns a change may set, and how each value is sent.
CHANGEABLE = (
    "target",
    "types",
    "min_priority",
    "reference_ids",
    "mode",
    "digest_minutes",
    "quiet_hours",
    "send_resolved",
    "disabled_at",
    "disabled_reason",
)


@dataclass(frozen=True, slots=True)
class SealedSecrets:
    """A webhook's stored secrets, still encrypted; `previous` only while it still signs."""

    current: bytes
    previous: bytes | None
    previous_expires_at: datetime | None


def _subscription(row: Mapping[str, Any]) -> Subscription:
    return Subscription.model_validate(dict(row))


def _value(column: str, value: Any) -> Any:
    if column == "quiet_hours" and value is not None:
        return Jsonb(value)
    return value


def insert(
    connection: psycopg.Connection[Any],
    subscription_id: UUID,
    values: Mapping[str, Any],
    sealed_secret: bytes | None,
    created_by: str,
) -> Subscription:
    """Store a new subscription under the id given (its secret is sealed to it)."""
    columns = [*values, "webhook_secret", "created_by"]
    statement = sql.SQL(
        "INSERT INTO notification_subscriptions (id, {names}) VALUES (%s, {values})"
        " RETURNING {columns}"
    ).format(
        names=sql.SQL(", ").join(sql.Identifier(name) for name in columns),
        values=sql.SQL(", ").join(sql.Placeholder() for _ in columns),
        columns=_COLUMNS,
    )
    parameters = [
        subscription_id,
        *(_value(name, value) for name, value in values.items()),
        sealed_secret,
        created_by,
    ]
    with connection.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute(statement, parameters).fetchone()
    assert row is not None  # INSERT … RETURNING returns its row
    return _subscription(row)


def fetch_page(
    connection: psycopg.Connection[Any], after: Position | None, limit: int
) -> tuple[list[Subscription], bool]:
    """The `limit` oldest subscriptions after `after`, and whether more follow."""
    where = sql.SQL("")
    parameters: list[Any] = []
    if after is not None:
        where = sql.SQL(" WHERE (created_at, id) > (%s, %s)")
        parameters = [after[0], after[1]]
    statement = sql.SQL(
        "SELECT {columns} FROM notification_subscriptions{where}"
        " ORDER BY created_at, id LIMIT {limit}"
    ).format(columns=_COLUMNS, where=where, limit=limit + 1)
    with connection.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(statement, parameters).fetchall()
    return [_subscription(row) for row in rows[:limit]], len(rows) > limit


def fetch_one(
    connection: psycopg.Connection[Any], subscription_id: UUID, *, for_update: bool = False
) -> Subscription | None:
    """One subscription; `for_update` locks its row until the transaction ends."""
    statement = sql.SQL(
        "SELECT {columns} FROM notification_subscriptions WHERE id = %s{lock}"
    ).format(columns=_COLUMNS, lock=sql.SQL(" FOR UPDATE" if for_update else ""))
    with connection.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute(statement, (subscription_id,)).fetchone()
    return None if row is None else _subscription(row)


def update(
    connection: psycopg.Connection[Any], subscription_id: UUID, changes: Mapping[str, Any]
) -> Subscription | None:
    """Set the columns `changes` names (among CHANGEABLE) and `updated_at`; None when the id
    names nothing."""
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise ValueError(f"not changeable: {sorted(unknown)}")
    assignments = [
        sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder()) for name in changes
    ]
    statement = sql.SQL(
        "UPDATE notification_subscriptions SET {assignments} WHERE id = %s RETURNING {columns}"
    ).format(
        assignments=sql.SQL(", ").join([*assignments, sql.SQL("updated_at = now()")]),
        columns=_COLUMNS,
    )
    parameters = [*(_value(name, value) for name, value in changes.items()), subscription_id]
    with connection.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute(statement, parameters).fetchone()
    return None if row is None else _subscription(row)


def delete(connection: psycopg.Connection[Any], subscription_id: UUID) -> bool:
    """Delete it; whether it existed."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM notification_subscriptions WHERE id = %s", (subscription_id,))
        return cursor.rowcount == 1


def rotate_secret(
    connection: psycopg.Connection[Any], subscription_id: UUID, sealed_secret: bytes
) -> Subscription | None:
    """The current secret becomes the previous one (signing for PREVIOUS_SECRET_LIFETIME
    more), `sealed_secret` the current one; None when the id names no webhook. A previous
    secret still in its 24 h is replaced: one rotation at a time overlaps."""
    statement = sql.SQL(
        "UPDATE notification_subscriptions SET webhook_secret_previous = webhook_secret,"
        " webhook_secret = %s, webhook_secret_previous_expires_at = now() + %s,"
        " updated_at = now() WHERE id = %s AND channel = 'webhook' RETURNING {columns}"
    ).format(columns=_COLUMNS)
    with connection.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute(
            statement, (sealed_secret, PREVIOUS_SECRET_LIFETIME, subscription_id)
        ).fetchone()
    return None if row is None else _subscription(row)


def fetch_sealed_secrets(
    connection: psycopg.Connection[Any], subscription_id: UUID
) -> SealedSecrets | None:
    """The webhook's secrets as stored (encrypted); None when it has none."""
    with connection.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute(
            "SELECT webhook_secret, CASE WHEN webhook_secret_previous_expires_at > now()"
            " THEN webhook_secret_previous END AS previous,"
            " CASE WHEN webhook_secret_previous_expires_at > now()"
            " THEN webhook_secret_previous_expires_at END AS previous_expires_at"
            " FROM notification_subscriptions WHERE id = %s AND webhook_secret IS NOT NULL",
            (subscription_id,),
        ).fetchone()
    if row is None:
        return None
    previous = row["previous"]
    return SealedSecrets(
        current=bytes(row["webhook_secret"]),
        previous=None if previous is None else bytes(previous),
        previous_expires_at=row["previous_expires_at"],
    )
