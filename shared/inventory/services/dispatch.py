"""Putting due deliveries on the delivery queue (SPEC §10): after every write of
notifications, and on every monitor run, which is also the outbox's sweep.

Two statements at most, whatever the number of deliveries: the due rows (those never put on
the queue, those whose retry or digest is due, and those put there long enough ago that their
message must have been lost: a writer that died between its commit and its enqueue, a message
dead-lettered), then, after SQS took them, their mark. A dispatch that dies between the two
leaves rows a later dispatch sends again; the claim (services/notification_sending.py) makes a
second message for a delivery cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import psycopg

from inventory.config import get_settings
from inventory.data import delivery_queue
from inventory.data.db import run_on_connection
from inventory.data.notification_deliveries import DueDelivery, due_for_dispatch, mark_enqueued
from inventory.deadline import Deadline
from inventory.errors import InventoryError
from inventory.failures import describe_failure
from inventory.observability import logger
from inventory.rules.delivery_types import DeliveryChannel

# A message not consumed this long after it was sent is taken for lost and sent again. Longer
# than SQS's longest delay (15 min), so a delayed retry is not doubled while it waits.
ENQUEUED_STALE_AFTER = timedelta(minutes=20)
# Rows one dispatch puts on the queue at most; the rest wait for the next (a storm of
# notifications to the topic is many rows; subscribers' storms are digests already).
MAX_PER_DISPATCH = 20_000


@dataclass(frozen=True, slots=True)
class Dispatched:
    enqueued: int = 0  # deliveries
    messages: int = 0  # queue messages they went in
    errors: list[str] = field(default_factory=list)


def messages_of(due: list[DueDelivery]) -> list[list[UUID]]:
    """One message per delivery, but the topic's ten to a message (one PublishBatch)."""
    messages = [[d.id] for d in due if d.channel is not DeliveryChannel.TOPIC]
    topic = [d.id for d in due if d.channel is DeliveryChannel.TOPIC]
    step = delivery_queue.TOPIC_IDS_PER_MESSAGE
    messages.extend(topic[i : i + step] for i in range(0, len(topic), step))
    return messages


def dispatch_due(now: datetime, *, deadline: Deadline | None = None) -> Dispatched:
    """Put every due delivery on the queue. Never raises for a database or queue fault: what
    is not sent stays due for the next dispatch."""
    queue_url = get_settings().delivery_queue_url
    if not queue_url:
        return Dispatched()  # no queue configured: nothing sends (tools and some tests)
    if deadline is not None and deadline.expired():
        return Dispatched()
    try:
        due = run_on_connection(
            lambda connection: due_for_dispatch(
                connection,
                now=now,
                stale_before=now - ENQUEUED_STALE_AFTER,
                limit=MAX_PER_DISPATCH,
            )
        )
    except (InventoryError, psycopg.Error) as error:
        reason = f"deliveries not dispatched: {describe_failure(error)}"
        logger.warning("Delivery dispatch failed", extra={"reason": reason})
        return Dispatched(errors=[reason])
    if not due:
        return Dispatched()
    messages = messages_of(due)
    sent = delivery_queue.send(queue_url, messages, deadline=deadline)
    ids = [i for index in sent.taken for i in messages[index]]
    errors = [] if sent.error is None else [f"deliveries not all dispatched: {sent.error}"]
    try:
        run_on_connection(lambda connection: mark_enqueued(connection, ids, now=now))
    except (InventoryError, psycopg.Error) as error:
        # The messages are on the queue; unmarked, the rows are only sent to it again.
        errors.append(f"dispatched deliveries not marked: {describe_failure(error)}")
    if errors:
        logger.warning("Delivery dispatch incomplete", extra={"errors": errors})
    return Dispatched(enqueued=len(ids), messages=len(sent.taken), errors=errors)
