"""The cooldown store when NOTIFICATION_COOLDOWN_HOURS is 0: no cooldown at all."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from inventory.data.cooldowns import Claim, ClaimOutcome, Confirmation
from inventory.deadline import Deadline
from inventory.rules.alert_types import CooldownKey


class DisabledCooldownStore:
    """Every claim succeeds and nothing is written."""

    def claim_many(
        self, keys: Sequence[CooldownKey], now: datetime, *, deadline: Deadline | None = None
    ) -> list[Claim]:
        return [Claim(key, ClaimOutcome.CLAIMED) for key in keys]

    def release(self, claims: Sequence[Claim]) -> None:
        return None

    def confirm(self, confirmations: Sequence[Confirmation], now: datetime) -> None:
        return None

    def rearm(
        self, keys: Sequence[CooldownKey], now: datetime, *, deadline: Deadline | None = None
    ) -> list[CooldownKey]:
        return list(dict.fromkeys(keys))

    def stats(self, now: datetime) -> dict[str, int]:
        return {}

    def clear(self, *, type: str | None = None, reference_id: UUID | None = None) -> int:
        return 0

    def ping(self) -> None:
        return None
