"""Episodes in PostgreSQL (migration 0007): the run's sweep, resolutions, released cooldowns.

Three statements at most per run, whatever the number of open episodes: the sweep (always),
the resolution (when an episode is due) and the release mark (when cooldowns were released).
Each runs alone in autocommit and may run again after a broken connection:
- the sweep only moves `clear_since` (set when first found clear, reset when found holding);
  rows another transaction holds are skipped (SKIP LOCKED) and looked at next run, so the sweep
  never waits and never deadlocks;
- the resolution resolves an episode only while it is open and still clear since before the
  cutoff, re-checked under its row lock: of two runs, one resolves it and stores its
  `alert_resolved` (the same statement, driven by what its UPDATE returned), the other
  nothing. Locks are taken in key order, as the delivery's insert takes them;
- the release mark records that the cooldown entries are deleted; until then every sweep names
  the episode again, so a run that died between resolving and releasing is finished by the
  next.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg.rows import tuple_row

from inventory.data.notification_rows import json_text
from inventory.rules.alert_types import (
    CooldownKey,
    NotificationDraft,
    NotificationType,
    ReferenceType,
)
from inventory.rules.episodes import ResolvableEpisode

_SWEEP = """
    WITH holding AS (
        SELECT type, reference_id
        FROM unnest(%(type)s::text[], %(reference_id)s::uuid[]) AS h(type, reference_id)
    ),
    changing AS (
        SELECT e.id, h.type IS NOT NULL AS holds
        FROM notification_episodes e
        LEFT JOIN holding h ON h.type = e.type AND h.reference_id = e.reference_id
        WHERE e.resolved_at IS NULL
          AND CASE WHEN h.type IS NULL THEN e.clear_since IS NULL
                   ELSE e.clear_since IS NOT NULL END
        FOR UPDATE OF e SKIP LOCKED
    ),
    marked AS (
        UPDATE notification_episodes e
        SET clear_since = CASE WHEN c.holds THEN NULL ELSE %(now)s::timestamptz END
        FROM changing c
        WHERE e.id = c.id
        RETURNING e.id
    )
    SELECT 'due', e.id, e.type, e.reference_type, e.reference_id, e.opened_at,
           coalesce(e.clear_since, %(now)s), e.first_notification_id, n.title, n.data::text
    FROM notification_episodes e
    LEFT JOIN holding h ON h.type = e.type AND h.reference_id = e.reference_id
    LEFT JOIN notifications n ON n.id = e.first_notification_id
    WHERE e.resolved_at IS NULL AND h.type IS NULL
      AND coalesce(e.clear_since, %(now)s) <= %(cutoff)s
    UNION ALL
    SELECT 'unreleased', e.id, e.type, e.reference_type, e.reference_id, e.opened_at,
           e.clear_since, e.first_notification_id, NULL, NULL
    FROM notification_episodes e
    WHERE e.resolved_at IS NOT NULL AND e.cooldown_released_at IS NULL
"""

# `locked` takes the row locks in key order; the UPDATE re-checks each episode on its newest
# version. Only what the UPDATE returned gets its rows closed and its notice stored; the
# notice's created_at is the server's, as every notification's (the inbox's order).
_RESOLVE = """
    WITH notices AS (
        SELECT *
        FROM unnest(%(episode_id)s::uuid[], %(notice_id)s::uuid[], %(title)s::text[],
                    %(message)s::text[], %(data)s::text[])
             AS d(episode_id, notice_id, title, message, data)
    ),
    locked AS (
        SELECT e.id FROM notification_episodes e
        WHERE e.id = ANY(%(episode_id)s::uuid[])
        ORDER BY e.type, e.reference_id
        FOR UPDATE
    ),
    resolved AS (
        UPDATE notification_episodes e
        SET resolved_at = %(now)s, resolution_id = d.notice_id
        FROM locked, notices d
        WHERE e.id = locked.id AND d.episode_id = e.id
          AND e.resolved_at IS NULL AND e.clear_since <= %(cutoff)s
        RETURNING e.id, e.type, e.reference_type, e.reference_id, e.resolution_id
    ),
    closed AS (
        UPDATE notifications n
        SET resolved_at = %(now)s, cooldown_cleared_at = coalesce(n.cooldown_cleared_at, %(now)s)
        FROM resolved r
        WHERE n.episode_id = r.id AND n.resolved_at IS NULL
        RETURNING n.id
    ),
    stored AS (
        INSERT INTO notifications
            (id, type, priority, title, message, reference_type, reference_id, data,
             episode_id, resolved_at)
        SELECT d.notice_id, 'alert_resolved', 'low', d.title, d.message, r.reference_type,
               r.reference_id, d.data::jsonb, r.id, %(now)s
        FROM resolved r JOIN notices d ON d.episode_id = r.id
        RETURNING id
    )
    SELECT r.id, r.type, r.reference_id, r.resolution_id,
           (SELECT count(*) FROM closed), (SELECT count(*) FROM stored)
    FROM resolved r
"""

# Locks in key order too: a resolution of other runs waits here, never in a cycle.
_MARK_RELEASED = """
    WITH locked AS (
        SELECT id FROM notification_episodes
        WHERE id = ANY(%(episode_id)s::uuid[]) AND cooldown_released_at IS NULL
        ORDER BY type, reference_id
        FOR UPDATE
    )
    UPDATE notification_episodes e SET cooldown_released_at = %(now)s
    FROM locked WHERE e.id = locked.id AND e.cooldown_released_at IS NULL
"""


@dataclass(frozen=True, slots=True)
class EpisodeRef:
    """An episode and its key (a resolved one whose cooldown is to be released)."""

    episode_id: UUID
    key: CooldownKey


@dataclass(frozen=True, slots=True)
class Sweep:
    """What a sweep found: episodes due to resolve, and resolved ones still to release."""

    due: list[ResolvableEpisode]
    unreleased: list[EpisodeRef]


@dataclass(frozen=True, slots=True)
class Resolution:
    """An episode this statement resolved, and the id of its alert_resolved notification."""

    episode: EpisodeRef
    notice_id: UUID


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def sweep(
    connection: psycopg.Connection[Any],
    holding: Collection[CooldownKey],
    *,
    now: datetime,
    rearm: timedelta,
) -> Sweep:
    """Mark open episodes clear (since `now`) or holding again, and find those clear since
    `now - rearm` or earlier, and the resolved ones whose cooldown is not released yet."""
    keys = list(holding)
    params = {
        "type": [k.type.value for k in keys],
        "reference_id": [k.reference_id for k in keys],
        "now": now,
        "cutoff": now - rearm,
    }
    with connection.cursor(row_factory=tuple_row) as cursor:
        cursor.execute(_SWEEP, params)
        rows = cursor.fetchall()
    due: list[ResolvableEpisode] = []
    unreleased: list[EpisodeRef] = []
    for row in rows:
        kind, episode_id, type_, reference_type, reference_id, opened, clear = row[:7]
        first, title, data = row[7:]
        if kind == "unreleased":
            key = CooldownKey(NotificationType(type_), reference_id)
            unreleased.append(EpisodeRef(episode_id, key))
            continue
        due.append(
            ResolvableEpisode(
                episode_id=episode_id,
                type=NotificationType(type_),
                reference_type=ReferenceType(reference_type),
                reference_id=reference_id,
                opened_at=_utc(opened),
                clear_since=_utc(clear),
                first_notification_id=first,
                first_title=title,
                first_data=json.loads(data) if data else {},
            )
        )
    return Sweep(due, unreleased)


def resolve(
    connection: psycopg.Connection[Any],
    notices: Sequence[tuple[UUID, NotificationDraft]],
    *,
    now: datetime,
    rearm: timedelta,
    notice_ids: Sequence[UUID] | None = None,
) -> list[Resolution]:
    """Resolve each (episode, alert_resolved draft) still open and clear since before
    `now - rearm`: its episode, its open notifications (also out of the cooldown check) and
    its notice, in one statement. What this statement resolved; none for an episode another
    run resolved or whose condition came back. `notice_ids` fixes the new rows' ids (the
    default draws them once, so a rerun of the same call stores nothing twice)."""
    if not notices:
        return []
    ids = list(notice_ids) if notice_ids is not None else [uuid4() for _ in notices]
    drafts = [draft for _, draft in notices]
    params = {
        "episode_id": [episode_id for episode_id, _ in notices],
        "notice_id": ids,
        "title": [d.title for d in drafts],
        "message": [d.message for d in drafts],
        "data": [json_text(d.data) for d in drafts],
        "now": now,
        "cutoff": now - rearm,
    }
    with connection.cursor(row_factory=tuple_row) as cursor:
        cursor.execute(_RESOLVE, params)
        rows = cursor.fetchall()
    return [
        Resolution(EpisodeRef(episode_id, CooldownKey(NotificationType(type_), reference)), notice)
        for episode_id, type_, reference, notice, _closed, _stored in rows
    ]


def mark_released(
    connection: psycopg.Connection[Any], episode_ids: Sequence[UUID], *, now: datetime
) -> int:
    """Record that these episodes' cooldown entries are deleted; how many were still unmarked."""
    if not episode_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_MARK_RELEASED, {"episode_id": list(episode_ids), "now": now})
        return cursor.rowcount
