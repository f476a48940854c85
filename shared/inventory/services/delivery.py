"""Delivering alerts: claim each cooldown, write the claimed ones, store them, or release.

The one path from an alert the rules decided to a stored notification, for the monitor and the
manual checks alike, so both share one cooldown. Steps: claim every alert's cooldown at once
(the store claims concurrently); write title, message and data only for the claimed ones;
insert them in one statement; when the insert fails, release the claims so that the next run
sends them instead of the cooldown swallowing them. Claims that failed unanswered are released
too (their entry may exist).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import psycopg

from inventory.data.cooldowns import Claim, ClaimOutcome, CooldownStore
from inventory.data.db import run_on_connection
from inventory.data.notification_rows import insert_notifications
from inventory.deadline import Deadline
from inventory.errors import InventoryError
from inventory.failures import describe_failure
from inventory.observability import logger
from inventory.rules.alert_types import Alert, CooldownKey, NotificationDraft


class Delivery(StrEnum):
    SENT = "sent"
    SUPPRESSED = "suppressed"  # a live cooldown entry exists
    FAILED = "failed"  # no claim, or the insert failed (claim released)
    DEFERRED = "deferred"  # the run's time ran out before its claim: the next run sends it


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    key: CooldownKey
    delivery: Delivery
    # Written only for a claimed alert: a suppressed alert's text is never built.
    draft: NotificationDraft | None = None
    notification_id: UUID | None = None
    error: str | None = None


# Stores drafts, returns their new ids in order; raises when they cannot be stored.
Inserter = Callable[[Sequence[NotificationDraft]], list[UUID]]


def insert_into_database(drafts: Sequence[NotificationDraft]) -> list[UUID]:
    """All drafts in one INSERT statement (one round trip), or none of them.

    Run again when its connection broke (Rerun.SAFE, the default): that can duplicate only an
    insert that committed unheard, which releasing the claims and resending would too."""
    return run_on_connection(lambda connection: insert_notifications(connection, drafts))


def deliver(
    alerts: Sequence[Alert],
    store: CooldownStore,
    now: datetime,
    *,
    insert: Inserter = insert_into_database,
    deadline: Deadline | None = None,
) -> list[AlertOutcome]:
    """Every alert's outcome, in the order of `alerts`. Claims not started by `deadline` are
    DEFERRED (nothing written for them). Never raises for a store or database fault."""
    if not alerts:
        return []
    claims = _claim(store, [alert.key for alert in alerts], now, deadline)
    # A claim that failed unanswered may have left an entry that would swallow the alert.
    unanswered = [c for c in claims if c.outcome is ClaimOutcome.FAILED and c.token is not None]
    if unanswered:
        _release(store, unanswered)
    outcomes = [_unclaimed_outcome(claim) for claim in claims]
    claimed = [i for i, claim in enumerate(claims) if claim.outcome is ClaimOutcome.CLAIMED]
    if claimed:
        drafts = [alerts[i].draft() for i in claimed]
        stored = _store_claimed(store, insert, drafts, [claims[i] for i in claimed])
        for index, outcome in zip(claimed, stored, strict=True):
            outcomes[index] = outcome
    return [outcome for outcome in outcomes if outcome is not None]


def _claim(
    store: CooldownStore, keys: Sequence[CooldownKey], now: datetime, deadline: Deadline | None
) -> list[Claim]:
    try:
        return store.claim_many(keys, now, deadline=deadline)
    except Exception as error:  # noqa: BLE001 (a store fault must not stop the run)
        reason = describe_failure(error)
        return [Claim(key=k, outcome=ClaimOutcome.FAILED, error=reason) for k in keys]


# What each claim that was not won means for its alert: the one mapping of claim to delivery.
_UNCLAIMED = {
    ClaimOutcome.SUPPRESSED: Delivery.SUPPRESSED,
    ClaimOutcome.DEFERRED: Delivery.DEFERRED,
    ClaimOutcome.FAILED: Delivery.FAILED,
}


def _unclaimed_outcome(claim: Claim) -> AlertOutcome | None:
    """The outcome of an alert whose claim was not won; None for a claimed one (its outcome is
    the insert's)."""
    if claim.outcome is ClaimOutcome.CLAIMED:
        return None
    delivery = _UNCLAIMED[claim.outcome]
    error = None
    if delivery is Delivery.FAILED:
        error = f"cooldown claim failed: {claim.error or 'no answer'}"
    return AlertOutcome(claim.key, delivery, error=error)


def _store_claimed(
    store: CooldownStore,
    insert: Inserter,
    drafts: list[NotificationDraft],
    claims: list[Claim],
) -> list[AlertOutcome]:
    try:
        ids = insert(drafts)
    except (InventoryError, psycopg.Error) as error:
        reason = f"notification insert failed: {describe_failure(error)}"
        released = _release(store, claims)
        reason += "; claims released" if released is None else f"; release failed: {released}"
        logger.warning("Notification insert failed", extra={"reason": reason})
        return [
            AlertOutcome(d.cooldown_key, Delivery.FAILED, draft=d, error=reason) for d in drafts
        ]
    for draft, notification_id in zip(drafts, ids, strict=True):
        logger.info(
            "Notification sent",
            extra={
                "notification_id": str(notification_id),
                "type": draft.type.value,
                "reference_id": str(draft.reference_id),
            },
        )
    return [
        AlertOutcome(d.cooldown_key, Delivery.SENT, draft=d, notification_id=n)
        for d, n in zip(drafts, ids, strict=True)
    ]


def _release(store: CooldownStore, claims: Sequence[Claim]) -> str | None:
    try:
        store.release(claims)
    except Exception as error:  # noqa: BLE001 (reported; the entries expire on their own)
        logger.warning("Cooldown release failed", extra={"reason": describe_failure(error)})
        return describe_failure(error)
    return None


def count(outcomes: Sequence[AlertOutcome], delivery: Delivery) -> int:
    return sum(1 for o in outcomes if o.delivery is delivery)


def errors_of(outcomes: Sequence[AlertOutcome]) -> list[str]:
    """One line per failed alert, and one for all the deferred ones (their cause is the run's
    time, not the alerts)."""
    errors = [
        f"{o.key.type.value} {o.key.reference_id}: {o.error}"
        for o in outcomes
        if o.delivery is Delivery.FAILED
    ]
    deferred = count(outcomes, Delivery.DEFERRED)
    if deferred:
        errors.append(
            f"{deferred} notifications deferred to the next run: the run reached its time limit"
        )
    return errors
