"""The monitor job (SPEC §5): evaluate everything, claim cooldowns, store what is due.

A run costs a constant number of round trips whatever the catalogue size: two statements for
the unavailable and low packages (each reads part of the catalogue) and one for the products
about to run out (on two connections at once, sharing one snapshot), one concurrent batch of
cooldown claims and one batch insert. Only notifications whose claim succeeded are inserted;
when the insert fails the claims are released, so the next run sends them instead of the
cooldown swallowing them. A run that finds the usage base missing or old rebuilds it
afterwards (usage_upkeep): a constant number of statements more, about once every two hours.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from fractions import Fraction
from uuid import UUID

import psycopg
from aws_lambda_powertools.metrics import MetricUnit

from inventory.config import Settings, get_settings
from inventory.data.availability_sql import (
    EVERY_PACKAGE,
    ProblemPackages,
    fetch_problem_packages,
    split,
)
from inventory.data.cooldowns import Claim, ClaimOutcome, CooldownStore, get_cooldown_store
from inventory.data.db import Connection, database, read_in_one_snapshot
from inventory.data.notifications import insert_notifications
from inventory.data.usage import StockoutCandidates, fetch_stockout_candidates
from inventory.deadline import Deadline
from inventory.errors import ConfigurationError, DependencyUnavailableError, InventoryError
from inventory.failures import describe_failure
from inventory.models.notifications import MonitorResult, MonitorSummary
from inventory.observability import logger, metrics
from inventory.rules.notification_draft import Alert, CooldownKey, NotificationDraft
from inventory.rules.notifications import Evaluation, RuleSettings, evaluate
from inventory.services.usage_upkeep import keep_usage_base


class Delivery(StrEnum):
    SENT = "sent"
    SUPPRESSED = "suppressed"  # a live cooldown entry exists
    FAILED = "failed"  # no claim, or the insert failed (claim released)
    DEFERRED = "deferred"  # the run's time ran out before its claim: the next run sends it


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    key: CooldownKey
    delivery: Delivery
    # Written only for a claimed alert (and for one that came written): a suppressed alert's
    # text is never built.
    draft: NotificationDraft | None = None
    notification_id: UUID | None = None
    error: str | None = None


# Stores drafts, returns their new ids in order; raises when they cannot be stored.
Inserter = Callable[[Sequence[NotificationDraft]], list[UUID]]


def insert_into_database(drafts: Sequence[NotificationDraft]) -> list[UUID]:
    """All drafts in one INSERT statement (one round trip), or none of them."""
    with database() as connection:
        return insert_notifications(connection, drafts)


def rule_settings(settings: Settings) -> RuleSettings:
    return RuleSettings(
        package_low_stock_threshold=settings.package_low_stock_threshold,
        bottleneck_min_packages=settings.bottleneck_min_packages,
        stockout_prediction_days=settings.stockout_prediction_days,
        stockout_lookback_days=settings.stockout_lookback_days,
    )


def _claim(
    store: CooldownStore, keys: Sequence[CooldownKey], now: datetime, deadline: Deadline | None
) -> list[Claim]:
    try:
        return store.claim_many(keys, now, deadline=deadline)
    except Exception as error:  # noqa: BLE001 (a store fault must not stop the run)
        reason = describe_failure(error)
        return [Claim(key=k, outcome=ClaimOutcome.FAILED, error=reason) for k in keys]


def _release(store: CooldownStore, claims: Sequence[Claim]) -> str | None:
    try:
        store.release(claims)
    except Exception as error:  # noqa: BLE001 (reported; the entries expire on their own)
        logger.warning("Cooldown release failed", extra={"reason": describe_failure(error)})
        return describe_failure(error)
    return None


def _as_alert(item: Alert | NotificationDraft) -> Alert:
    return item if isinstance(item, Alert) else Alert.of(item)


def deliver(
    items: Sequence[Alert | NotificationDraft],
    store: CooldownStore,
    now: datetime,
    *,
    insert: Inserter = insert_into_database,
    deadline: Deadline | None = None,
) -> list[AlertOutcome]:
    """Claim every alert's cooldown concurrently, then write the claimed ones and insert them
    in one batch. Claims not started by `deadline` are DEFERRED (nothing written for them)."""
    if not items:
        return []
    alerts = [_as_alert(item) for item in items]
    claims = _claim(store, [alert.key for alert in alerts], now, deadline)
    outcomes: dict[int, AlertOutcome] = {}
    claimed: list[int] = []
    for index, (alert, claim) in enumerate(zip(alerts, claims, strict=True)):
        if claim.outcome is ClaimOutcome.CLAIMED:
            claimed.append(index)
        elif claim.outcome is ClaimOutcome.SUPPRESSED:
            outcomes[index] = AlertOutcome(alert.key, Delivery.SUPPRESSED)
        elif claim.outcome is ClaimOutcome.DEFERRED:
            outcomes[index] = AlertOutcome(alert.key, Delivery.DEFERRED)
        else:
            reason = f"cooldown claim failed: {claim.error or 'no answer'}"
            outcomes[index] = AlertOutcome(alert.key, Delivery.FAILED, error=reason)
    if claimed:
        drafts = [alerts[i].draft() for i in claimed]
        outcomes.update(_insert_claimed(store, insert, drafts, claims, claimed))
    return [outcomes[i] for i in range(len(alerts))]


def _insert_claimed(
    store: CooldownStore,
    insert: Inserter,
    drafts: list[NotificationDraft],
    claims: list[Claim],
    indexes: list[int],
) -> dict[int, AlertOutcome]:
    try:
        ids = insert(drafts)
    except (InventoryError, psycopg.Error) as error:
        reason = f"notification insert failed: {describe_failure(error)}"
        released = _release(store, [claims[i] for i in indexes])
        reason += "; claims released" if released is None else f"; release failed: {released}"
        logger.warning("Notification insert failed", extra={"reason": reason})
        return {
            i: AlertOutcome(d.cooldown_key, Delivery.FAILED, draft=d, error=reason)
            for i, d in zip(indexes, drafts, strict=True)
        }
    for draft, notification_id in zip(drafts, ids, strict=True):
        logger.info(
            "Notification sent",
            extra={
                "notification_id": str(notification_id),
                "type": draft.type.value,
                "reference_id": str(draft.reference_id),
            },
        )
    return {
        i: AlertOutcome(d.cooldown_key, Delivery.SENT, draft=d, notification_id=n)
        for i, d, n in zip(indexes, drafts, ids, strict=True)
    }


def iso_timestamp(moment: datetime) -> str:
    """2025-10-21T12:00:00.000Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class AlertableSnapshot:
    """What can raise an alert: unavailable/low packages (with what their alerts say about
    their limiting products) and the products that may run out; with the counts of everything
    checked."""

    problems: ProblemPackages
    candidates: StockoutCandidates


# The main connection's share of the package ids. The reader's connection reads the usage
# first (~100 ms at 100k packages beside the other statement, while the usage base counts),
# so the main one takes more. Warm runs on the bench's data, timed per statement: at 3/5 the
# main connection mostly finished last (by 50-190 ms), at 11/20 first (by 30-80 ms); at 4/7
# both end within ~40 ms of each other.
MAIN_CONNECTION_SHARE = Fraction(4, 7)


def load_alertable(
    settings: Settings, now: datetime, *, after_export: Callable[[], object] | None = None
) -> AlertableSnapshot:
    """Three statements on two connections reading one snapshot, at any catalogue size.

    Healthy packages and products that last long enough never produce a draft, so SQL leaves
    them out (make bench: 100k packages). The rules still decide every draft, from the same
    figures the full snapshot would give them for the rows they see. One snapshot: a stock
    change committed meanwhile shows in every part or in none. `after_export` is a test seam
    (see read_in_one_snapshot).

    The problem packages are read in two parts of the package ids, one per connection, so
    the server aggregates them on two cores at once (timed by a scratch script on make
    bench's 100k packages: the whole statement ~410 ms, its two parts side by side ~300 ms).
    The reader's connection also reads the products' usage first, so the main one takes the
    larger part.
    """
    threshold = settings.package_low_stock_threshold
    lower, upper = split(EVERY_PACKAGE, MAIN_CONNECTION_SHARE)

    def problems_in_lower_part(connection: Connection) -> ProblemPackages:
        return fetch_problem_packages(connection, threshold, lower)

    def candidates_and_upper_part(
        connection: Connection,
    ) -> tuple[StockoutCandidates, ProblemPackages]:
        candidates = fetch_stockout_candidates(
            connection,
            now,
            lookback_days=settings.stockout_lookback_days,
            prediction_days=settings.stockout_prediction_days,
        )
        return candidates, fetch_problem_packages(connection, threshold, upper)

    found, (predicted, found_above) = read_in_one_snapshot(
        problems_in_lower_part, candidates_and_upper_part, after_export=after_export
    )
    return AlertableSnapshot(found + found_above, predicted)


def _evaluate(now: datetime) -> tuple[Evaluation, datetime | None]:
    """The rules over what can raise an alert; the counts come from SQL. Also when the usage
    base the read used was built (None: none counted)."""
    settings = get_settings()
    snapshot = load_alertable(settings, now)
    evaluation = evaluate(
        snapshot.problems.packages,
        snapshot.candidates.products,
        rule_settings(settings),
        now,
        named=snapshot.problems.limiting_products,
    )
    counted = replace(
        evaluation,
        packages_checked=snapshot.problems.packages_checked,
        products_checked=snapshot.candidates.products_checked,
    )
    return counted, snapshot.candidates.usage_base_built_at


def _errors_of(outcomes: Sequence[AlertOutcome]) -> list[str]:
    errors = [
        f"{o.key.type.value} {o.key.reference_id}: {o.error}"
        for o in outcomes
        if o.delivery is Delivery.FAILED
    ]
    deferred = _count(outcomes, Delivery.DEFERRED)
    if deferred:
        # One line, not one per alert: the cause is the run's time, not the alerts.
        errors.append(
            f"{deferred} notifications deferred to the next run: the run reached its time limit"
        )
    return errors


def _count(outcomes: Sequence[AlertOutcome], delivery: Delivery) -> int:
    return sum(1 for o in outcomes if o.delivery is delivery)


def run_monitor(
    now: datetime | None = None,
    *,
    store: CooldownStore | None = None,
    deadline: Deadline | None = None,
    raise_configuration_errors: bool = False,
) -> MonitorResult:
    """One monitor run. Expected faults end up in `summary.errors`, never as an exception.

    A configuration error is reported without its details (they stay in the log); HTTP
    callers ask for it to be raised so it becomes a 500, not a retryable 503. Claims stop at
    `deadline` (the Lambda's remaining time less a reserve): the rest waits for the next run.
    """
    with cyclic_gc_paused():
        return _run(now, store, deadline, raise_configuration_errors)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a run builds its objects (freed by reference
    counting as usual). make bench, 100k packages: the collector walking the run's ~100k
    short-lived rows and alerts cost about 13 % of a warm run (1,295 → 1,128 ms)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _run(
    now: datetime | None,
    store: CooldownStore | None,
    deadline: Deadline | None,
    raise_configuration_errors: bool,
) -> MonitorResult:
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    store = _store_for_this_run(store)
    try:
        evaluation, usage_base_built_at = _evaluate(now)
    except (InventoryError, psycopg.Error) as error:
        if isinstance(error, ConfigurationError):
            logger.error("Monitor configuration error", extra={"reason": str(error)})
            if raise_configuration_errors:
                raise
            reason = "the service is misconfigured (details in the log)"
        else:
            reason = describe_failure(error)
        result = MonitorResult(
            success=False,
            timestamp=iso_timestamp(now),
            duration_ms=_elapsed_ms(started),
            summary=MonitorSummary(
                packages_checked=0,
                notifications_sent=0,
                bottlenecks_detected=0,
                errors=[f"evaluation failed: {reason}"],
            ),
        )
        logger.error("Monitor run failed", extra={"errors": result.summary.errors})
        _record_metrics(result)
        return result
    outcomes = _deliver_with(store, evaluation.alerts, now, deadline)
    keep_usage_base(usage_base_built_at, now, deadline)
    sent = _count(outcomes, Delivery.SENT)
    result = MonitorResult(
        success=True,
        timestamp=iso_timestamp(now),
        duration_ms=_elapsed_ms(started),
        summary=MonitorSummary(
            packages_checked=evaluation.packages_checked,
            notifications_sent=sent,
            bottlenecks_detected=evaluation.bottlenecks_detected,
            errors=_errors_of(outcomes),
            products_checked=evaluation.products_checked,
            stockouts_predicted=evaluation.stockouts_predicted,
            notifications_suppressed=_count(outcomes, Delivery.SUPPRESSED),
            notifications_deferred=_count(outcomes, Delivery.DEFERRED),
        ),
    )
    logger.info(
        "Monitor run finished",
        extra={"duration_ms": result.duration_ms, **result.summary.model_dump()},
    )
    _record_metrics(result)
    return result


def run_monitor_for_http(
    now: datetime | None = None,
    *,
    store: CooldownStore | None = None,
    deadline: Deadline | None = None,
) -> MonitorResult:
    """A run for an HTTP caller: a run that could not evaluate is a 503 with the reason."""
    result = run_monitor(now, store=store, deadline=deadline, raise_configuration_errors=True)
    if not result.success:
        raise DependencyUnavailableError("; ".join(result.summary.errors))
    return result


def _store_for_this_run(store: CooldownStore | None) -> CooldownStore | None:
    """The store's one-run form, started before the SQL so that its reads overlap it. A store
    that cannot be resolved is left to _deliver_with, which reports it per alert."""
    try:
        return resolve_store(store).for_one_run()
    except InventoryError:
        return store


def resolve_store(store: CooldownStore | None) -> CooldownStore:
    """The given store, or the container's configured one."""
    return store if store is not None else get_cooldown_store()


def _deliver_with(
    store: CooldownStore | None, alerts: Sequence[Alert], now: datetime, deadline: Deadline | None
) -> list[AlertOutcome]:
    if not alerts:
        return []
    try:
        chosen = resolve_store(store)
    except InventoryError as error:
        reason = f"cooldown store unavailable: {describe_failure(error)}"
        return [AlertOutcome(a.key, Delivery.FAILED, error=reason) for a in alerts]
    return deliver(alerts, chosen, now, deadline=deadline)


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _record_metrics(result: MonitorResult) -> None:
    summary = result.summary
    metrics.add_metric(
        name="MonitorDuration", unit=MetricUnit.Milliseconds, value=result.duration_ms
    )
    counts = {
        "PackagesChecked": summary.packages_checked,
        "NotificationsSent": summary.notifications_sent,
        "NotificationsSuppressed": summary.notifications_suppressed,
        "NotificationsDeferred": summary.notifications_deferred,
        "BottlenecksDetected": summary.bottlenecks_detected,
        "MonitorErrors": len(summary.errors),
        "MonitorRunFailed": int(not result.success),
    }
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
