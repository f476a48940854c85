"""Small in-memory stand-ins for the service's stores, for tests that need no network."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from inventory.data.cooldowns import Claim, ClaimOutcome, Confirmation
from inventory.deadline import Deadline
from inventory.rules.alert_types import CooldownKey


@dataclass
class Entry:
    expires_at: datetime
    token: str
    claimed_at: datetime
    confirmed: bool = False


class InMemoryCooldownStore:
    """The CooldownStore protocol over a dict: live while expires_at > now, like the table; a
    claim is a lease until confirmed.

    `fail_with` makes every claim FAILED (a dead endpoint); `released` records releases and
    `rearmed` the keys of every rearm, in order.
    """

    def __init__(
        self, window: timedelta = timedelta(hours=24), lease: timedelta = timedelta(minutes=1)
    ) -> None:
        self.window = window
        self.lease = lease
        self.entries: dict[CooldownKey, Entry] = {}
        self.released: list[Claim] = []
        self.rearmed: list[CooldownKey] = []
        self.fail_with: str | None = None
        self._lock = threading.Lock()

    def claim_many(
        self, keys: Sequence[CooldownKey], now: datetime, *, deadline: Deadline | None = None
    ) -> list[Claim]:
        with self._lock:
            return [
                Claim(key, ClaimOutcome.DEFERRED)
                if deadline is not None and deadline.expired()
                else self._claim(key, now)
                for key in keys
            ]

    def _claim(self, key: CooldownKey, now: datetime) -> Claim:
        if self.fail_with is not None:
            return Claim(key, ClaimOutcome.FAILED, error=self.fail_with)
        current = self.entries.get(key)
        if current is not None and current.expires_at > now:
            return Claim(key, ClaimOutcome.SUPPRESSED)
        token = str(uuid.uuid4())
        self.entries[key] = Entry(now + self.lease, token, now)
        return Claim(key, ClaimOutcome.CLAIMED, token=token)

    def release(self, claims: Sequence[Claim]) -> None:
        with self._lock:
            for claim in claims:
                current = self.entries.get(claim.key)
                if current is not None and current.token == claim.token:
                    del self.entries[claim.key]
                    self.released.append(claim)

    def confirm(self, confirmations: Sequence[Confirmation], now: datetime) -> None:
        with self._lock:
            for confirmation in confirmations:
                current = self.entries.get(confirmation.claim.key)
                if current is not None and current.token == confirmation.claim.token:
                    current.expires_at = confirmation.since + self.window
                    current.confirmed = True

    def rearm(
        self, keys: Sequence[CooldownKey], now: datetime, *, deadline: Deadline | None = None
    ) -> list[CooldownKey]:
        """Whoever wrote them, the entries of `keys` go, as in the table, except live leases
        (unconfirmed, not expired), which are left alone and not settled."""
        settled: list[CooldownKey] = []
        with self._lock:
            self.rearmed.extend(keys)
            for key in dict.fromkeys(keys):
                current = self.entries.get(key)
                if current is not None and not current.confirmed and current.expires_at > now:
                    continue
                self.entries.pop(key, None)
                settled.append(key)
        return settled

    def stats(self, now: datetime) -> dict[str, int]:
        with self._lock:
            live = [key.type.value for key, entry in self.entries.items() if entry.expires_at > now]
        return dict(Counter(live))

    def clear(self, *, type: str | None = None, reference_id: UUID | None = None) -> int:
        with self._lock:
            doomed = [
                key
                for key in self.entries
                if (type is None or key.type.value == type)
                and (reference_id is None or key.reference_id == reference_id)
            ]
            for key in doomed:
                del self.entries[key]
        return len(doomed)

    def ping(self) -> None:
        return None


class DeadlineAfter:
    """A Deadline that lets `checks` calls of expired() through, then expires: the run's
    time running out at an exact point, without sleeping."""

    def __init__(self, checks: int) -> None:
        self._left = checks
        self._lock = threading.Lock()

    def expired(self) -> bool:
        with self._lock:
            self._left -= 1
            return self._left < 0

    def ends_at(self) -> float | None:
        return None
