"""The values the alert rules produce: notification types, priorities, cooldown keys, alerts and
the drafts they write (what a notification is before it is stored)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID


class NotificationType(StrEnum):
    PACKAGE_UNAVAILABLE = "package_unavailable"
    PACKAGE_LOW_STOCK = "package_low_stock"
    PACKAGE_BOTTLENECK = "package_bottleneck"
    STOCKOUT_PREDICTED = "stockout_predicted"
    # Closes an episode of one of the others (SPEC §9): never claimed, never an episode itself.
    ALERT_RESOLVED = "alert_resolved"


# The types the rules raise: each has a cooldown and opens episodes.
ALERTING_TYPES = tuple(t for t in NotificationType if t is not NotificationType.ALERT_RESOLVED)


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class ReferenceType(StrEnum):
    PACKAGE = "package"
    PRODUCT = "product"


@dataclass(frozen=True, slots=True)
class CooldownKey:
    """At most one notification per (type, reference) inside the cooldown window."""

    type: NotificationType
    reference_id: UUID


@dataclass(frozen=True, slots=True)
class NotificationDraft:
    type: NotificationType
    priority: Priority
    reference_type: ReferenceType
    reference_id: UUID
    title: str
    message: str
    # JSON-serialisable figures (numbers as int/float/str, ids as str).
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def cooldown_key(self) -> CooldownKey:
        return CooldownKey(self.type, self.reference_id)


@dataclass(frozen=True, slots=True)
class Alert:
    """A notification the rules call for: its cooldown key now, its text when asked.

    `draft()` writes title, message and data; the monitor asks only for alerts whose
    cooldown it claimed.
    """

    key: CooldownKey
    build: Callable[[], NotificationDraft]

    def draft(self) -> NotificationDraft:
        return self.build()
