"""The sender's outcomes other than a plain success, through the real delivery handler fed SQS
events (moto over HTTP) and a real PostgreSQL: duplicates, disabled subscriptions, the 24 h
give-up, Retry-After, missing configuration, a database that does not answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest
import time_machine

from devtools import sqs_event_source
from devtools.webhook_receiver import Behaviour, WebhookReceiver
from functions.notification_delivery import app as notification_delivery
from inventory.data import delivery_queue
from inventory.data.notification_rows import insert_notifications
from inventory.rules.alert_types import NotificationDraft, NotificationType, Priority, ReferenceType
from inventory.services.dispatch import dispatch_due
from tests.support.delivery import DeliveryAws, delivery_context, subscribe

NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)


def notify(db: psycopg.Connection[Any], priority: Priority = Priority.URGENT) -> UUID:
    [notification] = insert_notifications(
        db,
        [
            NotificationDraft(
                type=NotificationType.PACKAGE_UNAVAILABLE,
                priority=priority,
                reference_type=ReferenceType.PACKAGE,
                reference_id=UUID(int=7),
                title="Margarita cannot be sold",
                message="Limes have 0 in stock.",
            )
        ],
    )
    return notification


def delivery_rows(db: psycopg.Connection[Any], channel: str = "webhook") -> list[dict[str, Any]]:
    with db.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        return cursor.execute(
            "SELECT * FROM notification_deliveries WHERE channel = %s ORDER BY created_at",
            (channel,),
        ).fetchall()


def handle(ids: list[UUID], at: datetime = NOW) -> dict[str, Any]:
    """The delivery function on one SQS event carrying one message per id list."""
    messages = [
        {
            "MessageId": f"m-{index}",
            "ReceiptHandle": f"r-{index}",
            "Body": delivery_queue.message_body([delivery_id]),
        }
        for index, delivery_id in enumerate(ids)
    ]
    event = sqs_event_source.sqs_event(
        messages, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1"
    )
    with time_machine.travel(at, tick=False):
        result: dict[str, Any] = notification_delivery.lambda_handler(event, delivery_context())
    return result


def test_two_messages_for_one_delivery_send_it_once(
    db: psycopg.Connection[Any], aws: DeliveryAws, receiver: WebhookReceiver
) -> None:
    created = subscribe({"channel": "webhook", "target": receiver.url("once")})
    receiver.register("once", created["secret"])
    notify(db)
    [row] = delivery_rows(db)

    result = handle([row["id"], row["id"]])
    handle([row["id"]])

    assert result == {"batchItemFailures": []}
    assert [d.status for d in receiver.deliveries("once")] == [200]
    [after] = delivery_rows(db)
    assert (after["status"], after["attempts"]) == ("sent", 1)


def test_a_subscription_disabled_after_its_delivery_was_owed_is_not_sent_to(
    db: psycopg.Connection[Any], aws: DeliveryAws, receiver: WebhookReceiver
) -> None:
    created = subscribe({"channel": "webhook", "target": receiver.url("off")})
    receiver.register("off", created["secret"])
    notify(db)
    db.execute(
        "UPDATE notification_subscriptions SET disabled_at = now(), disabled_reason = 'paused'"
    )
    [row] = delivery_rows(db)

    handle([row["id"]])

    assert receiver.deliveries("off") == []
    [after] = delivery_rows(db)
    assert (after["status"], after["attempts"], after["last_error"]) == (
        "dead",
        0,
        "subscription disabled",
    )


def test_retry_after_is_honoured_and_24_hours_of_failures_give_up(
    db: psycopg.Connection[Any], aws: DeliveryAws, receiver: WebhookReceiver
) -> None:
    created = subscribe({"channel": "webhook", "target": receiver.url("down")})
    receiver.register(
        "down", created["secret"], behaviour=Behaviour(fail_first=10_000, retry_after="3600")
    )
    notify(db)
    [row] = delivery_rows(db)

    handle([row["id"]], NOW)
    [failed] = delivery_rows(db)
    assert failed["status"] == "failed"
    # Asked for an hour, not the schedule's first minute.
    assert failed["due_at"] >= NOW + timedelta(hours=1)
    assert "503" in failed["last_error"]

    moment = failed["due_at"]
    for _ in range(20):
        handle([row["id"]], moment)
        [current] = delivery_rows(db)
        if current["status"] == "dead":
            break
        moment = current["due_at"]
    assert current["status"] == "dead"
    assert "gave up" in current["last_error"]
    assert moment - row["created_at"] <= timedelta(hours=24)
    # Dead is dead: a message for it later sends nothing.
    attempts = len(receiver.deliveries("down"))
    handle([row["id"]], moment + timedelta(days=1))
    assert len(receiver.deliveries("down")) == attempts


def test_no_sender_address_or_topic_is_a_failed_attempt_that_says_why(
    db: psycopg.Connection[Any], aws: DeliveryAws, service_env: pytest.MonkeyPatch
) -> None:
    subscribe({"channel": "email", "target": "manager@bar.example"})
    service_env.delenv("NOTIFICATION_SENDER_EMAIL")
    service_env.delenv("NOTIFICATION_TOPIC_ARN")
    from inventory.config import get_settings

    get_settings.cache_clear()
    notify(db)
    ids = [r["id"] for r in delivery_rows(db, "email") + delivery_rows(db, "topic")]

    handle(ids)

    [email] = delivery_rows(db, "email")
    [topic] = delivery_rows(db, "topic")
    assert (email["status"], topic["status"]) == ("failed", "failed")
    assert "NOTIFICATION_SENDER_EMAIL" in email["last_error"]
    assert "NOTIFICATION_TOPIC_ARN" in topic["last_error"]


def test_a_database_that_does_not_answer_fails_the_message_not_the_function(
    db: psycopg.Connection[Any], aws: DeliveryAws, service_env: pytest.MonkeyPatch
) -> None:
    notify(db)
    [row] = delivery_rows(db, "topic")
    service_env.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    service_env.setenv("DB_CONNECT_TIMEOUT_SECONDS", "1")
    from inventory.config import get_settings
    from inventory.data.db import reset_connection

    get_settings.cache_clear()
    reset_connection()

    result = handle([row["id"]])

    # The whole batch failed: reported as failures (SQS retries them), not raised.
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    # And a dispatch in that state reports instead of raising.
    dispatched = dispatch_due(NOW)
    assert dispatched.enqueued == 0
    assert dispatched.errors
    assert dispatched.errors[0].startswith("deliveries not dispatched")
