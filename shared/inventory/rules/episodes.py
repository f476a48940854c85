"""Episodes (SPEC §9): which conditions still hold, and what a resolved episode says.

An alert opens an episode of its condition; a run that finds the condition clear for the rearm
window resolves it. Pure: the run's alerts and what it read come in as values.

A condition holds beyond its own alert in two cases, so that no episode is announced as over
while things got worse: a low-stock package that became unavailable is still short, and a
product predicted to run out that did run out (no prediction at zero stock) is still out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from inventory.rules.alert_types import (
    Alert,
    CooldownKey,
    NotificationDraft,
    NotificationType,
    Priority,
    ReferenceType,
)
from inventory.rules.availability import PackageAvailability, Status

_LOW = NotificationType.PACKAGE_LOW_STOCK
_STOCKOUT = NotificationType.STOCKOUT_PREDICTED


def conditions_holding(
    alerts: Iterable[Alert],
    packages: Iterable[PackageAvailability],
    products_out: Iterable[UUID],
) -> frozenset[CooldownKey]:
    """Every (type, reference) whose condition holds now: each alert's, a low-stock condition
    for each unavailable package, and a predicted stockout for each product `products_out`
    names (none left)."""
    holding = {alert.key for alert in alerts}
    holding.update(
        CooldownKey(_LOW, item.package_id) for item in packages if item.status is Status.UNAVAILABLE
    )
    holding.update(CooldownKey(_STOCKOUT, product_id) for product_id in products_out)
    return frozenset(holding)


@dataclass(frozen=True, slots=True)
class ResolvableEpisode:
    """An open episode whose condition has been clear since `clear_since`, with the alert that
    opened it."""

    episode_id: UUID
    type: NotificationType
    reference_type: ReferenceType
    reference_id: UUID
    opened_at: datetime
    clear_since: datetime
    first_notification_id: UUID
    first_title: str | None
    first_data: Mapping[str, Any]


# What each condition's end is, said of its package or product.
_ENDED = {
    NotificationType.PACKAGE_UNAVAILABLE: "{name} can be sold again",
    NotificationType.PACKAGE_LOW_STOCK: "{name} is no longer running low",
    NotificationType.PACKAGE_BOTTLENECK: "{name} no longer limits packages",
    NotificationType.STOCKOUT_PREDICTED: "{name} is no longer expected to run out",
}


def duration_text(seconds: int) -> str:
    """'2 h 15 min', '40 min', '3 d 2 h', 'under a minute'."""
    minutes, _ = divmod(max(0, seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else "under a minute"


def _clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def resolution_draft(episode: ResolvableEpisode) -> NotificationDraft:
    """The alert_resolved notification of an episode: what ended, when it began and cleared,
    how long it lasted (from its first alert to the first run that found it clear)."""
    data = episode.first_data
    name = str(data.get("package_name") or data.get("product_name") or episode.reference_id)
    seconds = max(0, round((episode.clear_since - episode.opened_at).total_seconds()))
    ended = _ENDED[episode.type].format(name=name)
    opened_by = f" ({episode.first_title})" if episode.first_title else ""
    return NotificationDraft(
        type=NotificationType.ALERT_RESOLVED,
        priority=Priority.LOW,
        reference_type=episode.reference_type,
        reference_id=episode.reference_id,
        title=ended,
        message=(
            f"{ended}: the {episode.type.value.replace('_', ' ')} alert of "
            f"{_clock(episode.opened_at)}{opened_by} is resolved. It lasted "
            f"{duration_text(seconds)} and has been clear since {_clock(episode.clear_since)}."
        ),
        data={
            "resolved_notification_id": str(episode.first_notification_id),
            "resolved_type": episode.type.value,
            "duration_seconds": seconds,
            "episode_id": str(episode.episode_id),
            "started_at": episode.opened_at.isoformat(),
            "cleared_at": episode.clear_since.isoformat(),
            "name": name,
        },
    )
