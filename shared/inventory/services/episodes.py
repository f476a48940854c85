"""Ending episodes (SPEC §9): every monitor run sweeps the open episodes against the conditions
that hold, resolves those clear for NOTIFICATION_REARM_MINUTES and re-arms their cooldowns.

Order, and why nothing is lost or done twice whatever dies when:
1. the sweep (data/notification_episodes.sweep) marks episodes clear or holding again, and
   finds those due and those resolved whose cooldown is still to release;
2. one statement resolves the due ones and stores their alert_resolved notifications: both or
   neither, and of concurrent runs only one (the row lock decides);
3. the cooldown windows of every resolved-but-unreleased episode are deleted (`rearm`; a live
   lease, a claim in progress, is never touched), and
4. the episodes whose keys the store settled are marked released. A run that dies before 4
   leaves them unreleased: the next sweep names them again and the deletes are repeated
   (harmless: a window deleted twice, or a new episode's window, is re-created from its
   committed row by the next claim's confirmation). Until then a new occurrence of the
   condition is suppressed by the old entry, never swallowed: the resolution has marked its
   rows out of the insert's cooldown check already, so a claim won after the release
   stores it.
A failure of any step is a line in the run's errors; the run goes on to deliver its alerts.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import uuid4

import psycopg

from inventory.data import notification_episodes as episode_rows
from inventory.data.cooldowns import CooldownStore
from inventory.data.db import run_on_connection
from inventory.data.notification_episodes import EpisodeRef, Resolution, Sweep
from inventory.deadline import Deadline
from inventory.errors import InventoryError
from inventory.failures import describe_failure
from inventory.observability import logger
from inventory.rules.alert_types import CooldownKey
from inventory.rules.episodes import resolution_draft


@dataclass(frozen=True, slots=True)
class EpisodesOutcome:
    resolved: list[Resolution] = field(default_factory=list)
    released: int = 0
    errors: list[str] = field(default_factory=list)


def end_episodes(
    holding: Collection[CooldownKey],
    store: CooldownStore,
    now: datetime,
    rearm: timedelta,
    *,
    deadline: Deadline | None = None,
) -> EpisodesOutcome:
    """Sweep, resolve what is due, release the cooldowns of what is resolved; never raises for
    a database or cooldown-store fault (it is in `errors`)."""
    try:
        found: Sweep = run_on_connection(
            lambda c: episode_rows.sweep(c, holding, now=now, rearm=rearm)
        )
    except (InventoryError, psycopg.Error) as error:
        return EpisodesOutcome(errors=[_failed("episode sweep failed", error)])
    if deadline is not None and deadline.expired():
        # The sweep's observations are kept (a condition back resets its clock); the
        # resolution and the release wait for the next run.
        return EpisodesOutcome()
    errors: list[str] = []
    resolved: list[Resolution] = []
    if found.due:
        # Drawn once, outside the work: a rerun after a lost answer stores nothing twice.
        notice_ids = [uuid4() for _ in found.due]
        try:
            notices = [(e.episode_id, resolution_draft(e)) for e in found.due]
            resolved = run_on_connection(
                lambda c: episode_rows.resolve(
                    c, notices, now=now, rearm=rearm, notice_ids=notice_ids
                )
            )
        except Exception as error:  # noqa: BLE001 (a text or the database: the run goes on)
            errors.append(_failed("episode resolution failed", error))
    for resolution in resolved:
        logger.info(
            "Episode resolved",
            extra={
                "episode_id": str(resolution.episode.episode_id),
                "type": resolution.episode.key.type.value,
                "reference_id": str(resolution.episode.key.reference_id),
                "notification_id": str(resolution.notice_id),
            },
        )
    # Earlier runs' unreleased episodes first; ours after them, each once.
    pending = {ref.episode_id: ref for ref in found.unreleased}
    pending.update({r.episode.episode_id: r.episode for r in resolved})
    released = _release(store, list(pending.values()), now, errors, deadline)
    return EpisodesOutcome(resolved=resolved, released=released, errors=errors)


def _release(
    store: CooldownStore,
    episodes: list[EpisodeRef],
    now: datetime,
    errors: list[str],
    deadline: Deadline | None,
) -> int:
    """Rearm the episodes' keys (until `deadline`); mark released those the store settled.
    How many."""
    if not episodes:
        return 0
    try:
        settled = set(store.rearm([ref.key for ref in episodes], now, deadline=deadline))
    except Exception as error:  # noqa: BLE001 (rearm's own faults never raise; a bug must not end the run)
        logger.exception("Cooldown rearm raised", extra={"reason": describe_failure(error)})
        settled = set()
    done = [ref.episode_id for ref in episodes if ref.key in settled]
    left = len(episodes) - len(done)
    if left:
        errors.append(
            f"cooldowns of {left} resolved episodes not released: the cooldown table did not "
            "answer, a claim of the key was in progress or the run ran out of time (retried "
            "next run)"
        )
    if done:
        try:
            run_on_connection(lambda c: episode_rows.mark_released(c, done, now=now))
        except (InventoryError, psycopg.Error) as error:
            # Released, not marked: the next run deletes the windows again, which is harmless.
            logger.warning(
                "Episode release not recorded", extra={"reason": describe_failure(error)}
            )
    return len(done)


def _failed(what: str, error: Exception) -> str:
    reason = describe_failure(error)
    logger.warning(what, extra={"reason": reason})
    return f"{what}: {reason}"
