"""Sending deliveries (SPEC §10): claim, hold for quiet hours, render, send, record.

Per queue message: one statement claims its deliveries (a lease, so of two senders given the
same delivery one sends it); for the digests about to go, one seals them and one reads their
notifications; one records every outcome. A delivery recorded as sent is never claimed again.
A sender that dies after sending but before recording leaves a lease that ends: the delivery
is sent again, under the same id (the `webhook-id` receivers deduplicate by, the e-mail's
X-Inventory-Delivery-Id).

Outcomes: sent; failed with its next attempt scheduled (rules/delivery_schedule.py), put back
on the queue with a delay when that is under SQS's 15 minutes, found by the monitor's dispatch
otherwise; dead once the 24 h of retries since its first attempt are over, or the receiver
refused it for good. Dropped (dead, but not a failure to alarm on): its subscription is
disabled, or a webhook answered 410 (which disables the subscription). An attempt that raised
is a failed attempt like any other, so it too is retried and given up.
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
    seal,
)
from inventory.observability import logger, metrics
from inventory.rules.delivery_schedule import next_attempt, quiet_until
from inventory.rules.delivery_types import (
    Attempt,
    AttemptResult,
    DeliveryChannel,
    DeliveryStatus,
)
from inventory.services.delivery_channels import message_for, send_message, send_to_topic

# Longer than one message's sending can take (a webhook's 15 s, an e-mail's retries), short
# enough that a sender that died is replaced soon.
LEASE = timedelta(minutes=3)
# Notifications a digest lists; the rest are counted.
DIGEST_LISTED = 20


@dataclass(frozen=True, slots=True)
class SendReport:
    sent: int = 0
    failed: int = 0  # retried later
    dead: int = 0  # given up: its retries are over, or refused for good
    dropped: int = 0  # not sent and never will be: the subscription disabled, 410 Gone
    postponed: int = 0  # quiet hours
    skipped: int = 0  # not ours to send: settled, leased by another sender, not due
    errors: list[str] = field(default_factory=list)


def _status_of(delivery: ClaimedDelivery) -> DeliveryStatus:
    return DeliveryStatus.FAILED if delivery.attempts else DeliveryStatus.PENDING


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
            dropped=True,
        )
    if attempt.result is AttemptResult.REFUSED:
        return Outcome(delivery.id, DeliveryStatus.DEAD, attempted=True, error=attempt.error)
    # The 24 h count from the first attempt: a daily digest is first due a day after its row.
    first = delivery.first_attempt_at or now
    due = next_attempt(first, delivery.attempts + 1, now, attempt.retry_after_seconds)
    if due is None:
        error = f"{attempt.error}; gave up after {delivery.attempts + 1} attempts"
        return Outcome(delivery.id, DeliveryStatus.DEAD, attempted=True, error=error)
    return Outcome(
        delivery.id, DeliveryStatus.FAILED, attempted=True, error=attempt.error, due_at=due
    )


def _held(delivery: ClaimedDelivery, now: datetime) -> Outcome | None:
    """The outcome of a delivery that is not sent now (disabled, quiet hours); None to send.
    A digest held for quiet hours stays open: what arrives meanwhile joins it."""
    if delivery.subscription_disabled:
        error = "subscription disabled"
        return Outcome(delivery.id, DeliveryStatus.DEAD, False, error=error, dropped=True)
    if delivery.kind == "digest" and delivery.digest_priority is None:
        # It carries nothing (its notifications' rows went with them).
        error = "empty digest"
        return Outcome(delivery.id, DeliveryStatus.DEAD, False, error=error, dropped=True)
    if delivery.quiet is not None:
        until = quiet_until(delivery.quiet, now, delivery.priority)
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
    outcomes: list[Outcome] = []
    sending: list[ClaimedDelivery] = []
    for delivery in claimed:
        held = _held(delivery, now)
        if held is None:
            sending.append(delivery)
        else:
            outcomes.append(held)
    items = _sealed_items([d.id for d in sending if d.kind == "digest"], now, lease_until)
    topic = [d for d in sending if d.channel is DeliveryChannel.TOPIC]
    for delivery in sending:
        if delivery.channel is not DeliveryChannel.TOPIC:
            attempt = _attempt(delivery, items.get(delivery.id), settings)
            outcomes.append(_outcome(delivery, attempt, now))
    if topic:
        attempts = _topic_attempts(topic, settings)
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


def _sealed_items(
    digest_ids: list[UUID], now: datetime, lease_until: datetime
) -> dict[UUID, DigestItems]:
    """Seal the digests about to go, then read what they carry (a statement of its own: it
    sees every notification a writer added before the seal)."""
    if not digest_ids:
        return {}
    sealed = run_on_connection(
        lambda connection: seal(connection, digest_ids, now=now, lease_until=lease_until)
    )
    return run_on_connection(
        lambda connection: digest_items(connection, sealed, listed=DIGEST_LISTED)
    )


def _failed_attempt(delivery_ids: Sequence[UUID], error: Exception) -> Attempt:
    # A bug, or a secret that no longer opens: recorded and retried like any failed attempt,
    # so it is given up after its 24 h instead of coming back forever.
    logger.exception(
        "Delivery attempt raised", extra={"delivery_ids": [str(i) for i in delivery_ids]}
    )
    return Attempt(AttemptResult.RETRY, error=f"the attempt raised {type(error).__name__}")


def _attempt(delivery: ClaimedDelivery, items: DigestItems | None, settings: Settings) -> Attempt:
    started = time.perf_counter()
    try:
        attempt = send_message(delivery, message_for(delivery, items, settings), settings)
    except Exception as error:  # noqa: BLE001 (recorded as the attempt's failure)
        attempt = _failed_attempt([delivery.id], error)
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


def _topic_attempts(deliveries: list[ClaimedDelivery], settings: Settings) -> dict[UUID, Attempt]:
    try:
        return send_to_topic(deliveries, settings)
    except Exception as error:  # noqa: BLE001 (recorded as each attempt's failure)
        failed = _failed_attempt([d.id for d in deliveries], error)
        return {d.id: failed for d in deliveries}


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
        "DeliveriesDropped": report.dropped,
        "DeliveriesPostponed": report.postponed,
    }
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
