"""The monitor job (SPEC §5): read what can raise an alert, decide, deliver, report.

A run costs a constant number of round trips whatever the catalogue size: the reads of
services/monitor_reads.py, one concurrent batch of cooldown claims and one batch insert
(services/delivery.py), then the episode sweep (and, when episodes end, their resolution and
release: services/episodes.py), then the dispatch of due deliveries (services/dispatch.py) and
the sweep of stock.changed events still owed (services/stock_events.py). A run that finds the
usage base missing or old rebuilds it afterwards (services/usage_upkeep.py).

Errors flow one way. `run` raises when it cannot evaluate at all (ConfigurationError, or
EvaluationFailedError for a database that did not answer); a failed alert is an outcome, not an
exception. The entry points decide what a failure becomes: `run_monitor`, for EventBridge, the
`success: false` result; the HTTP routes, through the resolver's error mapping, an envelope.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
from aws_lambda_powertools.metrics import MetricUnit

from inventory.config import Settings, get_settings
from inventory.data.cooldowns import CooldownStore, get_cooldown_store
from inventory.data.db import waits_end_by
from inventory.deadline import Deadline
from inventory.errors import ConfigurationError, DependencyUnavailableError, InventoryError
from inventory.failures import describe_failure
from inventory.models.monitor_result import MonitorResult, MonitorSummary
from inventory.observability import logger, metrics
from inventory.rules.alerts import RuleSettings, evaluate
from inventory.services import delivery, stock_events
from inventory.services.delivery import Delivery
from inventory.services.dispatch import dispatch_due
from inventory.services.episodes import end_episodes
from inventory.services.monitor_reads import load_alertable
from inventory.services.usage_upkeep import keep_usage_base


class EvaluationFailedError(DependencyUnavailableError):
    """The run could not read what it evaluates (the database did not answer)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"evaluation failed: {reason}")


def rule_settings(settings: Settings) -> RuleSettings:
    return RuleSettings(
        package_low_stock_threshold=settings.package_low_stock_threshold,
        bottleneck_min_packages=settings.bottleneck_min_packages,
        stockout_prediction_days=settings.stockout_prediction_days,
        stockout_lookback_days=settings.stockout_lookback_days,
    )


def iso_timestamp(moment: datetime) -> str:
    """2025-10-21T12:00:00.000Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run(
    now: datetime | None = None,
    *,
    store: CooldownStore | None = None,
    deadline: Deadline | None = None,
) -> MonitorResult:
    """One monitor run; raises ConfigurationError or EvaluationFailedError when it cannot evaluate
    (logged and counted here). Claims stop at `deadline`: the rest waits for the next run; no
    database wait outlasts the invocation's end (`deadline.ends_at()`)."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    ends_at = deadline.ends_at() if deadline is not None else None
    with cyclic_gc_paused(), waits_end_by(ends_at):
        try:
            settings = get_settings()
            snapshot = load_alertable(settings, now)
        except ConfigurationError as error:
            logger.error("Monitor configuration error", extra={"reason": str(error)})
            _record_failure(failed_result(now, started, _failure_reason(error)))
            raise
        except (InventoryError, psycopg.Error) as error:
            failure = EvaluationFailedError(describe_failure(error))
            _record_failure(failed_result(now, started, _failure_reason(failure)))
            raise failure from error
        evaluation = evaluate(
            snapshot.problems.packages,
            snapshot.candidates.products,
            rule_settings(settings),
            now,
            limiting_products=snapshot.problems.limiting_products,
        )
        cooldowns = store or get_cooldown_store()
        outcomes = delivery.deliver(evaluation.alerts, cooldowns, now, deadline=deadline)
        # After the alerts, which are more urgent. A run out of time still sweeps (one
        # statement: what it saw holding must reset the clock) and leaves the resolutions to
        # the next run.
        ended = end_episodes(
            evaluation.holding, cooldowns, now, settings.rearm_window, deadline=deadline
        )
        # Last: the run's own notifications and resolutions, retries now due, and whatever a
        # writer that died after its commit left (the outbox's sweep).
        dispatched = dispatch_due(now, deadline=deadline)
        # Beside it, the stock.changed outbox's sweep: events owed for more than a minute (a
        # writer that died after its commit, EventBridge down at the time).
        swept = stock_events.sweep(deadline=deadline)
        keep_usage_base(snapshot.candidates.usage_base_built_at, now, deadline)
        result = MonitorResult(
            success=True,
            timestamp=iso_timestamp(now),
            duration_ms=_elapsed_ms(started),
            summary=MonitorSummary(
                packages_checked=snapshot.problems.packages_checked,
                notifications_sent=delivery.count(outcomes, Delivery.SENT),
                bottlenecks_detected=evaluation.bottlenecks_detected,
                errors=[
                    *ended.errors,
                    *delivery.errors_of(outcomes),
                    *dispatched.errors,
                    *swept.errors,
                ],
                products_checked=snapshot.candidates.products_checked,
                stockouts_predicted=evaluation.stockouts_predicted,
                notifications_suppressed=delivery.count(outcomes, Delivery.SUPPRESSED),
                notifications_deferred=delivery.count(outcomes, Delivery.DEFERRED),
                episodes_resolved=len(ended.resolved),
                deliveries_enqueued=dispatched.enqueued,
            ),
        )
    logger.info(
        "Monitor run finished",
        extra={"duration_ms": result.duration_ms, **result.summary.model_dump()},
    )
    _record_metrics(result)
    return result


def run_monitor(
    now: datetime | None = None,
    *,
    store: CooldownStore | None = None,
    deadline: Deadline | None = None,
) -> MonitorResult:
    """The scheduled entry point: a run that cannot evaluate is a `success: false` result with
    the reason in `errors`, never an exception."""
    now = now or datetime.now(UTC)
    started = time.perf_counter()
    try:
        return run(now, store=store, deadline=deadline)
    except (ConfigurationError, EvaluationFailedError) as error:
        return failed_result(now, started, _failure_reason(error))


def _failure_reason(error: ConfigurationError | EvaluationFailedError) -> str:
    """The line a failed run reports in `errors`; a configuration error's details stay in the
    log."""
    if isinstance(error, ConfigurationError):
        return "evaluation failed: the service is misconfigured (details in the log)"
    return str(error)


def failed_result(now: datetime, started: float, reason: str) -> MonitorResult:
    return MonitorResult(
        success=False,
        timestamp=iso_timestamp(now),
        duration_ms=_elapsed_ms(started),
        summary=MonitorSummary(
            packages_checked=0, notifications_sent=0, bottlenecks_detected=0, errors=[reason]
        ),
    )


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a run builds its many short-lived objects (freed by
    reference counting as usual); the collector walking them cost a measurable share of a
    large run (docs/performance.md)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _record_failure(result: MonitorResult) -> None:
    logger.error("Monitor run failed", extra={"errors": result.summary.errors})
    _record_metrics(result)


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
        "EpisodesResolved": summary.episodes_resolved,
        "DeliveriesEnqueued": summary.deliveries_enqueued,
        "MonitorErrors": len(summary.errors),
        "MonitorRunFailed": int(not result.success),
    }
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
