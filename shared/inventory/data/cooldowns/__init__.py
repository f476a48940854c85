"""Notification cooldowns (SPEC §4): the store's interface, what a claim returns, the factory.

At most one notification per (type, reference) per cooldown window, across any number of
concurrent runs: a claim is atomic and succeeds only when no live entry exists. A claim first
holds its key for a short lease (MONITOR_CLAIM_LEASE_SECONDS, longer than any run lives); only
`confirm`, once the notification is committed, makes it a whole cooldown window. A run that
dies in between leaves a lease that ends; whether its notification was committed after all is
PostgreSQL's to say (the insert's check, services/delivery.py). The monitor and
the manual checks see only this module; an implementation lives in a module of its own
(`dynamodb.py`, `disabled.py`) and only `get_cooldown_store` names it.

When an episode resolves (SPEC §9), `rearm` deletes the confirmed windows of its keys, whoever
wrote them, so that a new occurrence is claimed, and alerts, at once; never a live lease.

Faults, for callers: `claim_many` never raises for a store fault (the claim comes back FAILED
with the reason), `release` never raises (it logs) and `rearm` never raises (it returns the
keys it settled); `stats`, `clear` and `ping` raise DependencyUnavailableError. `now` must be
timezone-aware (ValueError otherwise).
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
    CLAIMED = "claimed"  # no live entry existed; ours (a lease) now blocks others until it ends
    SUPPRESSED = "suppressed"  # a live entry exists: inside the cooldown, send nothing
    FAILED = "failed"  # the store did not answer: send nothing (no claim, no send)
    DEFERRED = "deferred"  # the run's deadline passed before the claim was tried


@dataclass(frozen=True, slots=True)
class Claim:
    key: CooldownKey
    outcome: ClaimOutcome
    # Identifies our entry, so release and confirm touch only what we wrote; also on a FAILED
    # claim whose write may have landed unanswered.
    token: str | None = None
    error: str | None = None
    expires_at: int | None = None  # epoch seconds of the lease we wrote (CLAIMED only)


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A claim whose notification is committed: its cooldown window counts from `since` (when
    that notification was claimed: an earlier run's time for a row found inside its window)."""

    claim: Claim
    since: datetime


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

    def confirm(self, confirmations: Sequence[Confirmation], now: datetime) -> None:
        """Turn our leases into whole cooldown windows; never raises. A lease left unconfirmed
        (a fault here) ends on its own, and the insert's check keeps the next claim of that
        key from storing it again."""
        ...

    def rearm(
        self, keys: Sequence[CooldownKey], now: datetime, *, deadline: Deadline | None = None
    ) -> list[CooldownKey]:
        """Delete the confirmed cooldown windows of `keys` (their episodes are resolved) so the
        next claim of each succeeds; never a live lease (a claim in progress decides that key
        itself: its notification is not committed, so nothing else would stop a second send).
        Returns the keys settled, each once in input order: deleted or already absent. A key
        held by a live lease (which may yet be confirmed as the resolved episode's window), or
        whose delete was not answered or not started by `deadline`, is left out: the caller
        tries it again next run (deleting twice is harmless). Never raises for a store fault.
        The digest stays usable without them."""
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
    window = settings.cooldown_window
    if window is None:
        from inventory.data.cooldowns.disabled import DisabledCooldownStore

        return DisabledCooldownStore()
    from inventory.data.cooldowns.dynamodb import DynamoCooldownStore

    lease = timedelta(seconds=settings.monitor_claim_lease_seconds)
    return DynamoCooldownStore(settings.cooldown_table_name, window, lease=lease)
