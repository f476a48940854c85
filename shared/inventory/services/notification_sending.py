"""Sending deliveries (SPEC §10): claim, hold for quiet hours, render, send, record.

Per queue message: one statement claims its deliveries (a lease, so of two senders given the
same delivery one sends it), one reads the notifications of the digests among them, one
records every outcome. A delivery recorded as sent is never claimed again. A sender that
dies after sending but before recording leaves a lease that ends: the delivery is sent again,
under the same id (the `webhook-id` receivers deduplicate by, the e-mail's Message-ID).

Outcomes: sent; failed with its next attempt scheduled (rules/delivery_schedule.py), put back
on the queue with a delay when that is under SQS's 15 minutes, found by the monitor's dispatch
otherwise; dead once its 24 h of retries are over, its subscription is disabled, or a webhook
answered 410 (which disables the subscription).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from aws_lambda_powertools.metrics import MetricUnit

from inventory.config import Settings, get_settings
from inventory.data import delivery_queue
from inventory.data.db import run_on_connection
from inventory.data.notification_deliveries import (
    ClaimedDelivery,
    DigestItems,
    Outcome,
    claim,
    digest_items,
    record,
)
from inventory.observability import logger, metrics
from inventory.rules.alert_types import Priority
from inventory.rules.delivery_schedule import next_attempt, quiet_until
from inventory.rules.delivery_types import (
    Attempt,
    AttemptResult,
    DeliveryChannel,
    DeliveryStatus,
)
from inventory.services.delivery_channels import Message, message_for, send_message, send_to_topic

# Longer than one message's sending can take (a webhook's 15 s, an e-mail's retries), short
# enough that a sender that died is replaced soon.
LEASE = timedelta(minutes=3)
# Notifications a digest lists; the rest are counted.
DIGEST_LISTED = 20


@dataclass(frozen=True, slots=True)
class SendReport:
    sent: int = 0
    failed: int = 0  # retried later
    dead: int = 0
    postponed: int = 0  # quiet hours
    skipped: int = 0  # not ours to send: settled, leased by another sender, not due
    errors: list[str] = field(default_factory=list)


def _status_of(delivery: ClaimedDelivery) -> DeliveryStatus:
    return DeliveryStatus.FAILED if delivery.attempts else DeliveryStatus.PENDING


def _priority(delivery: ClaimedDelivery, items: DigestItems | None) -> Priority:
    if delivery.notification is not None:
        return delivery.notification.priority
    return items.listed[0].priority if items and items.listed else Priority.LOW


def _outcome(delivery: ClaimedDelivery, attempt: Attempt, now: datetime) -> Outcome:
    if attempt.result is AttemptResult.DELIVERED:
        return Outcome(delivery.id, DeliveryStatus.SENT, attempted=True)
    if attempt.result is AttemptResult.GONE:
        reason = "the webhook answered 410 Gone"
        return Outcome(
            delivery.id,
            DeliveryStatus.DEAD,
            attempted=True,
            error=f"{attempt.error or reason}; subscription disabled",
            disable_subscription=reason,
        )
    if attempt.result is AttemptResult.REFUSED:
        return Outcome(delivery.id, DeliveryStatus.DEAD, attempted=True, error=attempt.error)
    due = next_attempt(delivery.created_at, delivery.attempts + 1, now, attempt.retry_after_seconds)
    if due is None:
        error = f"{attempt.error}; gave up after {delivery.attempts + 1} attempts"
        return Outcome(delivery.id, DeliveryStatus.DEAD, attempted=True, error=error)
    return Outcome(
        delivery.id, DeliveryStatus.FAILED, attempted=True, error=attempt.error, due_at=due
    )


def _held(delivery: ClaimedDelivery, items: DigestItems | None, now: datetime) -> Outcome | None:
    """The outcome of a delivery that is not sent now (disabled, quiet hours); None to send."""
    if delivery.subscription_disabled:
        return Outcome(
            delivery.id, DeliveryStatus.DEAD, attempted=False, error="subscription disabled"
        )
    if delivery.kind == "digest" and not (items and items.total):
        # Every notification it carried went (their subscription's rows were deleted).
        return Outcome(delivery.id, DeliveryStatus.DEAD, attempted=False, error="empty digest")
    if delivery.quiet is not None:
        until = quiet_until(delivery.quiet, now, _priority(delivery, items))
        if until is not None:
            return Outcome(delivery.id, _status_of(delivery), attempted=False, due_at=until)
    return None


def send_deliveries(
    ids: Sequence[UUID],
    now: datetime,
    *,
    settings: Settings | None = None,
) -> SendReport:
    """Send the deliveries among `ids` that are due and nobody else holds. Raises only when
    the database cannot be reached (the queue message is then retried)."""
    settings = settings or get_settings()
    lease_until, claimed = run_on_connection(
        lambda connection: claim(connection, ids, now=now, lease=LEASE)
    )
    digests = [d.id for d in claimed if d.kind == "digest"]
    items = (
        run_on_connection(
            lambda connection: digest_items(connection, digests, listed=DIGEST_LISTED)
        )
        if digests
        else {}
    )
    outcomes: list[Outcome] = []
    topic: list[ClaimedDelivery] = []
    for delivery in claimed:
        carried = items.get(delivery.id)
        held = _held(delivery, carried, now)
        if held is not None:
            outcomes.append(held)
        elif delivery.channel is DeliveryChannel.TOPIC:
            topic.append(delivery)
        else:
            message = message_for(delivery, carried, settings)
            attempt = _timed(delivery, message, settings)
            outcomes.append(_outcome(delivery, attempt, now))
    if topic:
        attempts = send_to_topic(topic, settings)
        outcomes.extend(_outcome(d, attempts[d.id], now) for d in topic)
    enqueued = _requeue_soon(outcomes, now, settings)
    run_on_connection(
        lambda connection: record(
            connection, outcomes, now=now, lease_until=lease_until, enqueued=enqueued
        )
    )
    report = _report(outcomes, skipped=len(set(ids)) - len(claimed))
    _record_metrics(report)
    return report


def _timed(delivery: ClaimedDelivery, message: Message, settings: Settings) -> Attempt:
    started = time.perf_counter()
    attempt = send_message(delivery, message, settings)
    logger.info(
        "Delivery attempted",
        extra={
            "delivery_id": str(delivery.id),
            "channel": delivery.channel.value,
            "result": attempt.result.value,
            "status_code": attempt.status_code,
            "error": attempt.error,
            "duration_ms": round((time.perf_counter() - started) * 1000),
        },
    )
    return attempt


def _requeue_soon(outcomes: Sequence[Outcome], now: datetime, settings: Settings) -> set[UUID]:
    """Put the retries due within SQS's longest delay back on the queue, delayed; the ids that
    went (the others are found by the monitor's dispatch when due)."""
    queue_url = settings.delivery_queue_url
    if not queue_url:
        return set()
    soon = [
        o
        for o in outcomes
        if o.status in (DeliveryStatus.FAILED, DeliveryStatus.PENDING)
        and o.due_at is not None
        and (o.due_at - now).total_seconds() <= delivery_queue.MAX_DELAY_SECONDS
    ]
    enqueued: set[UUID] = set()
    for outcome in soon:
        assert outcome.due_at is not None
        delay = int((outcome.due_at - now).total_seconds()) + 1
        sent = delivery_queue.send(queue_url, [[outcome.id]], delay_seconds=delay)
        if sent.taken:
            enqueued.add(outcome.id)
    return enqueued


def _report(outcomes: Sequence[Outcome], *, skipped: int) -> SendReport:
    def count(status: DeliveryStatus, attempted: bool = True) -> int:
        return sum(1 for o in outcomes if o.status is status and o.attempted == attempted)

    postponed = sum(1 for o in outcomes if not o.attempted and o.status is not DeliveryStatus.DEAD)
    dead = sum(1 for o in outcomes if o.status is DeliveryStatus.DEAD)
    return SendReport(
        sent=count(DeliveryStatus.SENT),
        failed=count(DeliveryStatus.FAILED),
        dead=dead,
        postponed=postponed,
        skipped=skipped,
        errors=[o.error for o in outcomes if o.error],
    )


def _record_metrics(report: SendReport) -> None:
    counts = {
        "DeliveriesSent": report.sent,
        "DeliveryAttemptsFailed": report.failed,
        "DeliveriesDead": report.dead,
        "DeliveriesPostponed": report.postponed,
    }
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
