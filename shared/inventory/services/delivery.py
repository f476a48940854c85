"""Delivering alerts: claim each cooldown, write the claimed ones, store them, confirm.

The one path from an alert the rules decided to a stored notification, for the monitor and the
manual checks alike, so both share one cooldown. Steps: claim every alert's cooldown at once
(the store claims concurrently, each claim a short lease); write title, message and data only
for the claimed ones; insert them in one statement, each under its claim's token; confirm the
claims, which turns each lease into the whole cooldown window.

Nothing lost, nothing twice, whatever dies when. The committed row is what says an alert was
sent; the claims only keep concurrent runs apart while a run lives:
- any exception between the claims and the commit releases the claims, and the next run sends
  them; had the insert committed after all (its answer lost), the next run's insert finds the
  row and stores nothing;
- a run killed anywhere leaves leases that end within MONITOR_CLAIM_LEASE_SECONDS (longer than
  any run lives, so no two runs hold one key at once); the next run's claims succeed, and its
  insert stores nothing for a key whose row still holds its cooldown window (the dead run had
  committed it), so the alert is sent exactly once.
Claims that failed unanswered are released too (their entry may exist).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

import psycopg

from inventory.config import get_settings
from inventory.data.cooldowns import Claim, ClaimOutcome, Confirmation, CooldownStore
from inventory.data.db import run_on_connection
from inventory.data.notification_rows import ClaimedDraft, InsertResult, Stored, insert_claimed
from inventory.deadline import Deadline
from inventory.errors import InventoryError
from inventory.failures import describe_failure
from inventory.observability import logger
from inventory.rules.alert_types import Alert, CooldownKey, NotificationDraft


class Delivery(StrEnum):
    SENT = "sent"
    # A live cooldown entry exists, or the run whose lease ours replaced had stored it.
    SUPPRESSED = "suppressed"
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


# Stores claimed drafts at `now` (each at most once per claim token, none inside a window of
# its key), results in order; raises when they cannot be stored.
Inserter = Callable[[Sequence[ClaimedDraft], datetime], list[InsertResult]]


def insert_into_database(claimed: Sequence[ClaimedDraft], now: datetime) -> list[InsertResult]:
    """All drafts in one INSERT statement (one round trip), or none of them.

    Run again when its connection broke (Rerun.SAFE, the default): each row is stored at most
    once per claim token, so a retry after an unheard commit stores nothing twice."""
    window = get_settings().cooldown_window
    return run_on_connection(
        lambda connection: insert_claimed(connection, claimed, now=now, window=window)
    )


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
        claimed_alerts = [alerts[i] for i in claimed]
        stored = _store_claimed(store, insert, claimed_alerts, [claims[i] for i in claimed], now)
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
    alerts: Sequence[Alert],
    claims: Sequence[Claim],
    now: datetime,
) -> list[AlertOutcome]:
    drafts: list[NotificationDraft] = []
    try:
        drafts = [alert.draft() for alert in alerts]
        results = insert([_claimed_draft(d, c) for d, c in zip(drafts, claims, strict=True)], now)
    except BaseException as error:
        reason = _insert_failed(store, claims, error)
        if not isinstance(error, Exception):
            raise  # the claims are settled; an interpreter exit is not ours to swallow
        written: list[NotificationDraft | None] = [*drafts] or [None] * len(claims)
        return [
            AlertOutcome(c.key, Delivery.FAILED, draft=d, error=reason)
            for c, d in zip(claims, written, strict=True)
        ]
    outcomes = [_stored_outcome(d, r) for d, r in zip(drafts, results, strict=True)]
    # The window counts from the claim its stored row was sent under (an earlier run's, for a
    # row found inside its window).
    confirmations = [
        Confirmation(c, since=r.cooldown_from) for c, r in zip(claims, results, strict=True)
    ]
    _confirm(store, confirmations, now)
    return outcomes


def _claimed_draft(draft: NotificationDraft, claim: Claim) -> ClaimedDraft:
    # Without a cooldown (no token) every draft is stored under a claim of its own.
    token = UUID(claim.token) if claim.token is not None else uuid4()
    return ClaimedDraft(draft, token)


def _stored_outcome(draft: NotificationDraft, result: InsertResult) -> AlertOutcome:
    extra = {
        "notification_id": str(result.id),
        "type": draft.type.value,
        "reference_id": str(draft.reference_id),
    }
    if result.stored is Stored.IN_WINDOW:
        # A run that died before confirming its claim had committed this alert: not again.
        logger.info("Notification already stored inside its cooldown window", extra=extra)
        return AlertOutcome(draft.cooldown_key, Delivery.SUPPRESSED, draft=draft)
    logger.info("Notification sent", extra=extra)
    return AlertOutcome(draft.cooldown_key, Delivery.SENT, draft=draft, notification_id=result.id)


def _insert_failed(store: CooldownStore, claims: Sequence[Claim], error: BaseException) -> str:
    """Settle the claims of an insert that raised; the reason its alerts report."""
    described = describe_failure(error) if isinstance(error, Exception) else type(error).__name__
    reason = f"notification insert failed: {described}"
    # Safe even if the insert committed unheard: the next run's insert finds the row.
    released = _release(store, claims)
    reason += "; claims released" if released is None else f"; release failed: {released}"
    if isinstance(error, InventoryError | psycopg.Error):
        logger.warning("Notification insert failed", extra={"reason": reason})
    else:
        logger.exception("Notification insert failed", extra={"reason": reason})
    return reason


def _confirm(store: CooldownStore, confirmations: Sequence[Confirmation], now: datetime) -> None:
    try:
        store.confirm(confirmations, now)
    except Exception as error:  # noqa: BLE001 (the notifications are stored; leases end alone)
        logger.warning("Cooldown confirm failed", extra={"reason": describe_failure(error)})


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
