"""Manual checks behind /api/inventory/notifications/check and the cooldown admin endpoints.

They use the monitor's rules and its delivery (services/delivery.py), so a manual check and
the scheduled run share one cooldown: a package checked by hand is not notified again by the
next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from inventory.config import get_settings
from inventory.data import notification_rows
from inventory.data.availability_sql import fetch_problem_packages, fetch_product_details
from inventory.data.cooldowns import CooldownStore, get_cooldown_store
from inventory.data.db import Connection, run_on_connection, waits_end_by
from inventory.deadline import Deadline
from inventory.errors import (
    DependencyUnavailableError,
    FieldProblem,
    InvalidRequestError,
    MalformedRequestError,
)
from inventory.models.checks import (
    BottleneckCheck,
    CheckResult,
    CooldownStats,
    FullCheck,
    NotificationCheckRequest,
    PackageCheck,
)
from inventory.rules.alert_types import ALERTING_TYPES, NotificationType
from inventory.rules.alerts import ProductFigures, bottleneck_alerts, package_alerts
from inventory.rules.availability import PackageAvailability, Status
from inventory.services import availability, monitor
from inventory.services.delivery import AlertOutcome, Delivery, deliver
from inventory.services.dispatch import dispatch_due

_QUIET_REASONS = {
    Status.AVAILABLE: "{name} is available: {sellable} can be sold.",
    Status.NO_COMPONENTS: "{name} has no components, so there is nothing to check.",
    Status.INACTIVE: "{name} is inactive.",
}


def _result(outcome: AlertOutcome, cooldown_hours: object) -> CheckResult:
    key = outcome.key
    if outcome.delivery is Delivery.SENT and outcome.draft is not None:
        return CheckResult(
            triggered=True,
            notification_id=outcome.notification_id,
            type=key.type,
            reason=outcome.draft.title,
            reference_id=key.reference_id,
        )
    if outcome.delivery is Delivery.SUPPRESSED:
        reason = (
            f"A {key.type.value} notification was already sent within the last "
            f"{cooldown_hours} hours (cooldown)."
        )
    elif outcome.delivery is Delivery.DEFERRED:
        reason = "Not sent yet: the check ran out of time; the next monitor run sends it."
    else:
        reason = f"Not sent: {outcome.error}"
    return CheckResult(triggered=False, type=key.type, reason=reason, reference_id=key.reference_id)


def check_package(
    package_id: UUID,
    *,
    now: datetime | None = None,
    store: CooldownStore | None = None,
    deadline: Deadline | None = None,
) -> CheckResult:
    """Notify about one package now if its status calls for it and no cooldown holds it; no
    database wait outlasts the invocation (`deadline`)."""
    with waits_end_by(deadline.ends_at() if deadline is not None else None):
        return _check_package(package_id, now or datetime.now(UTC), store, deadline)


def _check_package(
    package_id: UUID, now: datetime, store: CooldownStore | None, deadline: Deadline | None
) -> CheckResult:
    settings = get_settings()
    item, limiting = run_on_connection(lambda c: _package_and_limiting(c, package_id))
    alerts = package_alerts([item], limiting, monitor.rule_settings(settings))
    if not alerts:
        reason = _QUIET_REASONS.get(item.status, "{name} needs no notification.")
        return CheckResult(
            triggered=False,
            reason=reason.format(name=item.package_name, sellable=item.max_sellable),
            reference_id=package_id,
        )
    [outcome] = deliver(alerts, store or get_cooldown_store(), now, deadline=deadline)
    _dispatch_sent([outcome], now, deadline)
    if outcome.delivery is Delivery.FAILED:
        # One package, one answer: a dependency that failed is a 503, not a quiet "no".
        raise DependencyUnavailableError(f"The notification could not be sent: {outcome.error}")
    return _result(outcome, settings.notification_cooldown_hours)


def _package_and_limiting(
    connection: Connection, package_id: UUID
) -> tuple[PackageAvailability, dict[UUID, ProductFigures]]:
    item = availability.one_package(connection, package_id)
    limiting = {}
    if item.status in (Status.UNAVAILABLE, Status.LOW_STOCK):
        # What this package's notification says about the products it names.
        limiting = fetch_product_details(connection, item.limiting_product_ids)
    return item, limiting


def check_bottlenecks(
    *,
    now: datetime | None = None,
    store: CooldownStore | None = None,
    deadline: Deadline | None = None,
) -> list[CheckResult]:
    """Notify about every product that limits enough unavailable or low packages."""
    now = now or datetime.now(UTC)
    settings = get_settings()
    threshold = settings.package_low_stock_threshold
    with waits_end_by(deadline.ends_at() if deadline is not None else None):
        # Bottlenecks need no usage: the problem packages and their limiting products suffice.
        problems = run_on_connection(lambda c: fetch_problem_packages(c, threshold))
        # Alerts, not drafts: a bottleneck still inside its cooldown is never written out.
        alerts = bottleneck_alerts(
            problems.packages, problems.limiting_products, monitor.rule_settings(settings)
        )
        outcomes = deliver(alerts, store or get_cooldown_store(), now, deadline=deadline)
        _dispatch_sent(outcomes, now, deadline)
    return [_result(o, settings.notification_cooldown_hours) for o in outcomes]


def _dispatch_sent(
    outcomes: Sequence[AlertOutcome], now: datetime, deadline: Deadline | None
) -> None:
    # What was stored is sent at once, not at the next monitor run (which would send it too).
    if any(o.delivery is Delivery.SENT for o in outcomes):
        dispatch_due(now, deadline=deadline)


def full_check(
    *,
    now: datetime | None = None,
    store: CooldownStore | None = None,
    deadline: Deadline | None = None,
) -> FullCheck:
    """The whole monitor run; a run that cannot evaluate raises (a 503, or a 500 when the
    service is misconfigured), as every HTTP route does."""
    result = monitor.run(now, store=store, deadline=deadline)
    return FullCheck(
        summary=result.summary, timestamp=result.timestamp, duration_ms=result.duration_ms
    )


def run_check(
    request: NotificationCheckRequest,
    *,
    store: CooldownStore | None = None,
    deadline: Deadline | None = None,
) -> PackageCheck | BottleneckCheck | FullCheck:
    """package_id alone: that package; check_bottlenecks alone: the bottleneck check; else
    everything. A combination that would drop a check is refused (InvalidRequestError).

    Claims stop at `deadline`, and no database wait outlasts the invocation."""
    _refuse_contradictions(request)
    if request.package_id is not None:
        result = check_package(request.package_id, store=store, deadline=deadline)
        return PackageCheck(result=result)
    if request.check_bottlenecks and not request.check_all:
        return BottleneckCheck(results=check_bottlenecks(store=store, deadline=deadline))
    return full_check(store=store, deadline=deadline)


def _refuse_contradictions(request: NotificationCheckRequest) -> None:
    flags = {"check_bottlenecks": request.check_bottlenecks, "check_all": request.check_all}
    given = [name for name, value in flags.items() if value is not None]
    if request.package_id is not None and given:
        raise InvalidRequestError(
            "package_id checks that one package: give it alone.",
            details=[FieldProblem("body", f"/{name}", "not with package_id") for name in given],
        )
    if request.package_id is None and given and not any(flags.values()):
        raise InvalidRequestError(
            "This asks for no check: omit the flags for the full check, or set one to true.",
            details=[FieldProblem("body", f"/{name}", "false selects no check") for name in given],
        )


def cooldown_stats(
    *, now: datetime | None = None, store: CooldownStore | None = None
) -> CooldownStats:
    """Live entries only; every type with a cooldown is listed, with 0 when it has none."""
    counts = (store or get_cooldown_store()).stats(now or datetime.now(UTC))
    by_type = {t.value: counts.get(t.value, 0) for t in ALERTING_TYPES}
    by_type.update({k: v for k, v in counts.items() if k not in by_type})
    return CooldownStats(total_entries=sum(by_type.values()), by_type=by_type)


def clear_cooldowns(
    *,
    type: NotificationType | None = None,
    reference_id: UUID | None = None,
    everything: bool = False,
    store: CooldownStore | None = None,
) -> int:
    """Delete the entries of a type and/or a reference, or every entry when `everything` is
    said explicitly (and alone); MalformedRequestError otherwise."""
    filtered = type is not None or reference_id is not None
    if everything and filtered:
        raise MalformedRequestError("all=true clears every entry: give it without type or id.")
    if not everything and not filtered:
        raise MalformedRequestError(
            "Give type and/or reference_id to clear some cooldowns, or all=true to clear all."
        )
    kind = type.value if type else None
    # The rows first: were the entries deleted and the rows left, the next claims would
    # succeed and the insert's check would still hold the alerts back.
    if get_settings().cooldown_window is not None:
        run_on_connection(
            lambda connection: notification_rows.clear_cooldowns(
                connection, type=kind, reference_id=reference_id
            )
        )
    chosen = store or get_cooldown_store()
    return chosen.clear(type=kind, reference_id=reference_id)
