"""Notification cooldowns: the interface the monitor uses. (Implementation: see below.)"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from inventory.rules.notification_draft import CooldownKey


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"  # no live entry existed; ours now blocks others until it expires
    SUPPRESSED = "suppressed"  # a live entry exists: inside the cooldown, send nothing
    FAILED = "failed"  # the store did not answer: send nothing (no claim, no send)


@dataclass(frozen=True, slots=True)
class Claim:
    key: CooldownKey
    outcome: ClaimOutcome
    token: str | None = None  # identifies our entry, so release deletes only what we wrote
    error: str | None = None


class CooldownStore(Protocol):
    def claim_many(self, keys: Sequence[CooldownKey], now: datetime) -> list[Claim]:
        """Atomically claim each key (conditional write), concurrently; same order as keys."""
        ...

    def release(self, claims: Sequence[Claim]) -> None:
        """Delete our own entries again (the notification could not be stored)."""
        ...

    def stats(self, now: datetime) -> dict[str, int]:
        """Live entries (expires_at > now) counted by notification type."""
        ...

    def clear(self, *, type: str | None = None, reference_id: UUID | None = None) -> int:
        """Delete entries (all, one type, one reference); returns how many."""
        ...

    def ping(self) -> None:
        """Raise DependencyUnavailableError when the table does not answer."""
        ...
