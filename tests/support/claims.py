"""Claims as a delivery makes them: claimed, then confirmed once the notification is stored."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from inventory.data.cooldowns import Claim, ClaimOutcome, Confirmation, CooldownStore
from inventory.rules.alert_types import CooldownKey


def claim_and_confirm(
    store: CooldownStore, keys: Sequence[CooldownKey], now: datetime
) -> list[Claim]:
    """Claim `keys` at `now` and confirm every claim won: the whole window, as after a send."""
    claims = store.claim_many(keys, now)
    won = [Confirmation(c, since=now) for c in claims if c.outcome is ClaimOutcome.CLAIMED]
    store.confirm(won, now)
    return claims
