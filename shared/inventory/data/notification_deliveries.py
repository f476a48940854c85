"""The `notification_deliveries` outbox (migration 0009): what is due, claims, outcomes.

The rows are written by the notifications' own statements (the migration's trigger); this
module only moves them on. Each statement runs alone in autocommit and may run again:
- `due_for_dispatch` and `mark_enqueued` put due rows on the queue; a row found twice is only
  a second queue message, which the claim turns into nothing;
- `claim` leases rows to one sender (a lease ends on its own if the sender dies);
- `seal` closes the digests about to be sent to new notifications, so what a digest carries is
  fixed before its first attempt and every retry sends the same message under the same id. It
  is a statement of its own, before `digest_items` reads them: a writer adding to the digest
  holds its row until it commits, and the seal waits for it; a digest held for quiet hours is
  not sealed and goes on collecting;
- `record` writes what the attempts made of them, a digest's notifications with it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row, tuple_row

from inventory.rules.alert_types import NotificationType, Priority, ReferenceType
from inventory.rules.delivery_types import (
    DeliveryChannel,
    DeliveryStatus,
    MessageNotification,
    QuietWindow,
)

_DUE = """
    SELECT id, channel FROM notification_deliveries
    WHERE status IN ('pending', 'failed') AND digest_id IS NULL AND due_at <= %(now)s
      AND (enqueued_at IS NULL OR enqueued_at < %(stale_before)s)
      AND (lease_until IS NULL OR lease_until < %(now)s)
    ORDER BY due_at, id
    LIMIT %(limit)s
"""

_MARK_ENQUEUED = """
    UPDATE notification_deliveries SET enqueued_at = %(now)s
    WHERE id = ANY(%(ids)s::uuid[]) AND status IN ('pending', 'failed')
"""

# The UPDATE re-checks each row on its newest version: of two senders, one gets the lease. A
# digest comes with the most urgent priority among its notifications so far (quiet hours).
_CLAIM = """
    WITH claimed AS (
        UPDATE notification_deliveries d
        SET lease_until = %(lease_until)s
        WHERE d.id = ANY(%(ids)s::uuid[]) AND d.status IN ('pending', 'failed')
          AND d.digest_id IS NULL AND d.due_at <= %(now)s
          AND (d.lease_until IS NULL OR d.lease_until < %(now)s)
        RETURNING d.id, d.kind, d.channel, d.attempts, d.created_at, d.first_attempt_at,
                  d.notification_id, d.subscription_id
    )
    SELECT c.id, c.kind, c.channel, c.attempts, c.created_at, c.first_attempt_at,
           c.subscription_id,
           CASE WHEN c.kind = 'digest' THEN (
               SELECT (ARRAY['urgent', 'high', 'normal', 'low'])[min(array_position(
                          ARRAY['urgent', 'high', 'normal', 'low'], item.priority))]
               FROM notification_deliveries i JOIN notifications item ON item.id = i.notification_id
               WHERE i.digest_id = c.id) END AS digest_priority,
           s.target, s.quiet_hours, s.disabled_at, s.webhook_secret,
           CASE WHEN s.webhook_secret_previous_expires_at > %(now)s
                THEN s.webhook_secret_previous END AS webhook_secret_previous,
           n.id AS n_id, n.type AS n_type, n.priority AS n_priority, n.title AS n_title,
           n.message AS n_message, n.reference_type AS n_reference_type,
           n.reference_id AS n_reference_id, n.data::text AS n_data,
           n.created_at AS n_created_at
    FROM claimed c
    LEFT JOIN notification_subscriptions s ON s.id = c.subscription_id
    LEFT JOIN notifications n ON n.id = c.notification_id
    ORDER BY c.id
"""

_SEAL = """
    UPDATE notification_deliveries SET sealed_at = coalesce(sealed_at, %(now)s)
    WHERE id = ANY(%(ids)s::uuid[]) AND kind = 'digest' AND lease_until = %(lease_until)s
    RETURNING id
"""

# The most urgent first, then the oldest; `listed` of them per digest, and the count of all.
_DIGEST_ITEMS = """
    SELECT digest_id, total, id, type, priority, title, message, reference_type, reference_id,
           data::text, created_at
    FROM (
        SELECT i.digest_id, count(*) OVER w AS total,
               row_number() OVER (w ORDER BY array_position(
                   ARRAY['urgent', 'high', 'normal', 'low'], n.priority), n.created_at, n.id)
                   AS position,
               n.*
        FROM notification_deliveries i
        JOIN notifications n ON n.id = i.notification_id
        WHERE i.digest_id = ANY(%(ids)s::uuid[])
        WINDOW w AS (PARTITION BY i.digest_id)
    ) ranked
    WHERE position <= %(listed)s
    ORDER BY digest_id, position
"""

# Only a row this sender still leases takes its outcome (a lease that ended went to another
# sender). A digest's notifications follow it once it is sent or dead; a webhook that asked
# to be dropped (410) has its subscription disabled.
_RECORD = """
    WITH outcomes AS (
        SELECT * FROM unnest(
            %(id)s::uuid[], %(status)s::text[], %(attempted)s::boolean[], %(error)s::text[],
            %(due_at)s::timestamptz[], %(disable)s::text[], %(enqueued)s::boolean[]
        ) AS o(id, status, attempted, error, due_at, disable, enqueued)
    ),
    recorded AS (
        UPDATE notification_deliveries d
        SET status = o.status,
            attempts = d.attempts + o.attempted::int,
            first_attempt_at = CASE WHEN o.attempted THEN coalesce(d.first_attempt_at, %(now)s)
                                    ELSE d.first_attempt_at END,
            last_error = CASE WHEN o.attempted OR o.status = 'dead' THEN o.error
                              ELSE d.last_error END,
            due_at = coalesce(o.due_at, d.due_at),
            sent_at = CASE WHEN o.status = 'sent' THEN %(now)s END,
            lease_until = NULL,
            enqueued_at = CASE WHEN o.enqueued THEN %(now)s
                               WHEN o.status IN ('pending', 'failed') THEN NULL
                               ELSE d.enqueued_at END
        FROM outcomes o
        WHERE d.id = o.id AND d.lease_until = %(lease_until)s
        RETURNING d.id, d.kind, d.status, d.subscription_id, o.disable
    ),
    items AS (
        UPDATE notification_deliveries i
        SET status = r.status, sent_at = CASE WHEN r.status = 'sent' THEN %(now)s END
        FROM recorded r
        WHERE r.kind = 'digest' AND r.status IN ('sent', 'dead') AND i.digest_id = r.id
        RETURNING i.id
    ),
    disabled AS (
        UPDATE notification_subscriptions s
        SET disabled_at = %(now)s, disabled_reason = r.disable, updated_at = %(now)s
        FROM recorded r
        WHERE r.disable IS NOT NULL AND s.id = r.subscription_id AND s.disabled_at IS NULL
        RETURNING s.id
    )
    SELECT (SELECT count(*) FROM recorded), (SELECT count(*) FROM items),
           (SELECT count(*) FROM disabled)
"""

_OF_NOTIFICATION = """
    SELECT d.subscription_id, d.channel,
           coalesce(g.status, d.status) AS status,
           coalesce(g.attempts, d.attempts) AS attempts,
           coalesce(g.last_error, d.last_error) AS last_error,
           coalesce(g.sent_at, d.sent_at) AS sent_at,
           d.digest_id
    FROM notification_deliveries d
    LEFT JOIN notification_deliveries g ON g.id = d.digest_id
    WHERE d.notification_id = %(notification_id)s
    ORDER BY d.channel = 'topic', d.created_at, d.subscription_id
"""


@dataclass(frozen=True, slots=True)
class DueDelivery:
    id: UUID
    channel: DeliveryChannel


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery this sender holds, with what its message needs."""

    id: UUID
    kind: str  # notification | digest
    channel: DeliveryChannel
    attempts: int  # made before this one
    created_at: datetime
    first_attempt_at: datetime | None
    subscription_id: UUID | None
    target: str | None
    quiet: QuietWindow | None
    subscription_disabled: bool
    sealed_secrets: tuple[bytes, ...]  # the current webhook secret, then the previous one
    notification: MessageNotification | None  # kind notification
    # A digest: the most urgent priority of what it carries so far (None: it carries nothing).
    digest_priority: Priority | None = None

    @property
    def priority(self) -> Priority:
        if self.notification is not None:
            return self.notification.priority
        return self.digest_priority or Priority.LOW


@dataclass(frozen=True, slots=True)
class DigestItems:
    listed: tuple[MessageNotification, ...]
    total: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to record for one claimed delivery."""

    id: UUID
    status: DeliveryStatus
    attempted: bool  # an attempt was made (counts); False: postponed (quiet hours)
    error: str | None = None
    due_at: datetime | None = None  # the next attempt (failed) or the postponed time
    disable_subscription: str | None = None  # the reason, when the receiver asked to be dropped
    # Dead, but not a failure to alarm on: its subscription was disabled, or asked to be.
    dropped: bool = False


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One line of GET /api/notifications/{id}/deliveries."""

    subscription_id: UUID | None
    channel: str
    status: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    digest_id: UUID | None


def due_for_dispatch(
    connection: psycopg.Connection[Any],
    *,
    now: datetime,
    stale_before: datetime,
    limit: int,
) -> list[DueDelivery]:
    """Sendable rows due by `now`, not leased, and not put on the queue since `stale_before`."""
    params = {"now": now, "stale_before": stale_before, "limit": limit}
    with connection.cursor(row_factory=tuple_row) as cursor:
        cursor.execute(_DUE, params)
        return [DueDelivery(id_, DeliveryChannel(channel)) for id_, channel in cursor.fetchall()]


def mark_enqueued(
    connection: psycopg.Connection[Any], ids: Sequence[UUID], *, now: datetime
) -> int:
    if not ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_MARK_ENQUEUED, {"ids": list(ids), "now": now})
        return cursor.rowcount


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def message_notification(row: Mapping[str, Any], prefix: str = "") -> MessageNotification:
    data = row[f"{prefix}data"]
    return MessageNotification(
        id=row[f"{prefix}id"],
        type=NotificationType(row[f"{prefix}type"]),
        priority=Priority(row[f"{prefix}priority"]),
        title=row[f"{prefix}title"],
        message=row[f"{prefix}message"],
        reference_type=ReferenceType(row[f"{prefix}reference_type"]),
        reference_id=row[f"{prefix}reference_id"],
        data=json.loads(data) if isinstance(data, str) else dict(data or {}),
        created_at=_utc(row[f"{prefix}created_at"]),
    )


def _quiet(value: Any) -> QuietWindow | None:
    if not value:
        return None
    start_h, start_m = (int(part) for part in str(value["start"]).split(":"))
    end_h, end_m = (int(part) for part in str(value["end"]).split(":"))
    return QuietWindow(
        start=time(start_h, start_m),
        end=time(end_h, end_m),
        time_zone=str(value["time_zone"]),
        bypass_urgent=bool(value.get("bypass_urgent", False)),
    )


def _priority_or_none(value: str | None) -> Priority | None:
    return None if value is None else Priority(value)


def _utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else _utc(moment)


def _claimed(row: Mapping[str, Any]) -> ClaimedDelivery:
    secrets = tuple(
        bytes(value)
        for value in (row["webhook_secret"], row["webhook_secret_previous"])
        if value is not None
    )
    has_subscription = row["subscription_id"] is not None
    return ClaimedDelivery(
        id=row["id"],
        kind=row["kind"],
        channel=DeliveryChannel(row["channel"]),
        attempts=row["attempts"],
        created_at=_utc(row["created_at"]),
        first_attempt_at=_utc_or_none(row["first_attempt_at"]),
        subscription_id=row["subscription_id"],
        target=row["target"],
        quiet=_quiet(row["quiet_hours"]),
        # A subscription deleted since: its rows went with it (ON DELETE CASCADE).
        subscription_disabled=has_subscription and row["disabled_at"] is not None,
        sealed_secrets=secrets,
        notification=None if row["n_id"] is None else message_notification(row, "n_"),
        digest_priority=Priority(row["digest_priority"]) if row["digest_priority"] else None,
    )


def claim(
    connection: psycopg.Connection[Any],
    ids: Sequence[UUID],
    *,
    now: datetime,
    lease: timedelta,
) -> tuple[datetime, list[ClaimedDelivery]]:
    """Lease the due, unsettled, unleased rows among `ids` until `now + lease`: the lease's end
    (which `seal` and `record` must present) and what was won."""
    lease_until = now + lease
    if not ids:
        return lease_until, []
    params = {"ids": list(ids), "now": now, "lease_until": lease_until}
    with connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(_CLAIM, params)
        return lease_until, [_claimed(row) for row in cursor.fetchall()]


def seal(
    connection: psycopg.Connection[Any],
    digest_ids: Sequence[UUID],
    *,
    now: datetime,
    lease_until: datetime,
) -> list[UUID]:
    """Close these leased digests to new notifications (once: a retry keeps its first seal);
    the ids sealed."""
    if not digest_ids:
        return []
    params = {"ids": list(digest_ids), "now": now, "lease_until": lease_until}
    with connection.cursor(row_factory=tuple_row) as cursor:
        cursor.execute(_SEAL, params)
        return [row[0] for row in cursor.fetchall()]


def digest_items(
    connection: psycopg.Connection[Any], digest_ids: Sequence[UUID], *, listed: int
) -> dict[UUID, DigestItems]:
    """Each digest's first `listed` notifications (the most urgent first) and its total."""
    if not digest_ids:
        return {}
    found: dict[UUID, tuple[list[MessageNotification], int]] = {}
    with connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(_DIGEST_ITEMS, {"ids": list(digest_ids), "listed": listed})
        for row in cursor.fetchall():
            items, _ = found.setdefault(row["digest_id"], ([], row["total"]))
            items.append(message_notification(row))
    return {key: DigestItems(tuple(items), total) for key, (items, total) in found.items()}


def record(
    connection: psycopg.Connection[Any],
    outcomes: Sequence[Outcome],
    *,
    now: datetime,
    lease_until: datetime,
    enqueued: Collection[UUID] = (),
) -> int:
    """Write the outcomes of rows still leased until `lease_until`; how many were. `enqueued`:
    the retries already put back on the queue (the others are left for a dispatch)."""
    if not outcomes:
        return 0
    params = {
        "id": [o.id for o in outcomes],
        "status": [o.status.value for o in outcomes],
        "attempted": [o.attempted for o in outcomes],
        "error": [o.error for o in outcomes],
        "due_at": [o.due_at for o in outcomes],
        "disable": [o.disable_subscription for o in outcomes],
        "enqueued": [o.id in enqueued for o in outcomes],
        "now": now,
        "lease_until": lease_until,
    }
    with connection.cursor(row_factory=tuple_row) as cursor:
        cursor.execute(_RECORD, params)
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def deliveries_of(
    connection: psycopg.Connection[Any], notification_id: UUID
) -> list[DeliveryRecord]:
    """Every delivery a notification owes, a digest's state standing for those it carries."""
    with connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(_OF_NOTIFICATION, {"notification_id": notification_id})
        return [DeliveryRecord(**row) for row in cursor.fetchall()]
