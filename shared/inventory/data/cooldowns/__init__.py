"""Notification cooldowns (SPEC §4): the store's interface, what a claim returns, the factory.

At most one notification per (type, reference) per cooldown window, across any number of
concurrent runs: a claim is atomic and succeeds only when no live entry exists. The monitor and
the manual checks see only this module; an implementation lives in a module of its own
(`dynamodb.py`, `disabled.py`) and only `get_cooldown_store` names it.

Faults, for callers: `claim_many` never raises for a store fault (the claim comes back FAILED
with the reason) and `release` never raises (it logs); `stats`, `clear` and `ping` raise
DependencyUnavailableError. `now` must be timezone-aware (ValueError otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Protocol
from uuid import UUID

from inventory.config import get_settings
from inventory.deadline import Deadline
from inventory.rules.alert_types import CooldownKey


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"  # no live entry existed; ours now blocks others until it expires
    SUPPRESSED = "suppressed"  # a live entry exists: inside the cooldown, send nothing
    FAILED = "failed"  # the store did not answer: send nothing (no claim, no send)
    DEFERRED = "deferred"  # the run's deadline passed before the claim was tried


@dataclass(frozen=True, slots=True)
class Claim:
    key: CooldownKey
    outcome: ClaimOutcome
    # Identifies our entry, so release deletes only what we wrote; also on a FAILED claim
    # whose write may have landed unanswered.
    token: str | None = None
    error: str | None = None
    expires_at: int | None = None  # epoch seconds of the entry we wrote (CLAIMED only)


class CooldownStore(Protocol):
    def claim_many(
        self, keys: Sequence[CooldownKey], now: datetime, *, deadline: Deadline | None = None
    ) -> list[Claim]:
        """Atomically claim each key (conditional write), concurrently; same order as keys.

        Keys whose claim has not started when `deadline` expires come back DEFERRED.
        """
        ...

    def release(self, claims: Sequence[Claim]) -> None:
        """Delete our own entries again: the notification could not be stored, or the claim
        failed without an answer (its entry may exist)."""
        ...

    def stats(self, now: datetime) -> dict[str, int]:
        """Live entries (expires_at > now) counted by notification type."""
        ...

    def clear(self, *, type: str | None = None, reference_id: UUID | None = None) -> int:
        """Delete entries (all, one type, one reference); returns how many."""
        ...

    def ping(self) -> None:
        """Raise DependencyUnavailableError when the store does not answer."""
        ...


@cache
def get_cooldown_store() -> CooldownStore:
    """The container's store, chosen from the settings; its client is built on first use."""
    settings = get_settings()
    hours = settings.notification_cooldown_hours
    if hours == 0:
        from inventory.data.cooldowns.disabled import DisabledCooldownStore

        return DisabledCooldownStore()
    from inventory.data.cooldowns.dynamodb import DynamoCooldownStore

    window = timedelta(seconds=float(hours * 3600))
    return DynamoCooldownStore(settings.cooldown_table_name, window)
