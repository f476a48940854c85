"""Delivery's edges, each once a defect found by review (issue 17): the invocation's time, no
topic, a daily digest's retries, an attempt that raises, the database down, the storm
threshold's setting, quiet hours over a digest, a lost queue message.

Real PostgreSQL, moto's SQS/SNS/SES over HTTP, the real delivery function fed SQS's event.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from devtools.webhook_receiver import Behaviour, WebhookReceiver
from functions.notification_delivery import app as notification_delivery
from inventory.config import get_settings
from inventory.data.db import reset_connection, run_on_connection
from inventory.data.delivery_queue import message_body
from inventory.data.notification_rows import insert_notifications
from inventory.rules.alert_types import NotificationDraft, NotificationType, Priority, ReferenceType
from inventory.services.dispatch import dispatch_due
from tests.support.delivery import DeliveryAws, subscribe, webhook
from tests.support.events import FakeLambdaContext
from tests.support.scheduled_runs import at

START = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)


def draft(n: int, priority: Priority = Priority.URGENT) -> NotificationDraft:
    return NotificationDraft(
        type=NotificationType.PACKAGE_UNAVAILABLE,
        priority=priority,
        reference_type=ReferenceType.PACKAGE,
        reference_id=uuid.uuid4(),
        title=f"Package {n} cannot be sold",
        message=f"Package {n} cannot be sold.",
    )


def cycle(aws: DeliveryAws, moment: datetime) -> None:
    """What production does at `moment`: a dispatch (the monitor's), then the queue drained."""
    with at(moment):
        dispatch_due(moment)
        aws.drain()


def rows(db: psycopg.Connection[Any], where: str = "TRUE") -> list[dict[str, Any]]:
    with db.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        return cursor.execute(
            f"SELECT * FROM notification_deliveries WHERE {where} ORDER BY created_at, id"
        ).fetchall()


class HurriedContext(FakeLambdaContext):
    def get_remaining_time_in_millis(self) -> int:
        return 1_000  # far below MIN_REMAINING_MS (25 s)


def sqs_event(ids: list[uuid.UUID]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": "m-1",
                "receiptHandle": "r-1",
                "body": message_body(ids),
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "x",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                "awsRegion": "us-east-1",
            }
        ]
    }


# A message is not started with too little of the invocation left (Powertools passes the
# context only to a parameter named `lambda_context`): it comes back instead of being cut off
# between a receiver's answer and the record.
def test_a_message_is_not_started_with_too_little_of_the_invocation_left(
    db: psycopg.Connection[Any], aws: DeliveryAws
) -> None:
    webhook_id = subscribe({"channel": "email", "target": "manager@bar.example"})["id"]
    assert webhook_id
    [notification] = insert_notifications(db, [draft(1)])
    [delivery] = rows(db, f"notification_id = '{notification}' AND channel = 'email'")

    answer = notification_delivery.lambda_handler(sqs_event([delivery["id"]]), HurriedContext())

    assert answer["batchItemFailures"] == [{"itemIdentifier": "m-1"}], answer
    [after] = rows(db, f"id = '{delivery['id']}'")
    assert after["status"] == "pending"  # not sent: there was no time to
    assert after["lease_until"] is None


# Without a topic (NOTIFICATION_TOPIC_ARN unset) no topic row is owed, rather than rows
# failing for a day and alarming.
def test_without_a_topic_no_topic_delivery_fails(
    db: psycopg.Connection[Any], aws: DeliveryAws, service_env: pytest.MonkeyPatch
) -> None:
    service_env.delenv("NOTIFICATION_TOPIC_ARN")
    get_settings.cache_clear()
    reset_connection()
    run_on_connection(lambda connection: insert_notifications(connection, [draft(1)]))

    cycle(aws, START)

    failing = rows(db, "channel = 'topic' AND status IN ('failed', 'dead')")
    assert failing == [], [(r["status"], r["last_error"]) for r in failing]


# The 24 h of retries count from the first attempt: a daily digest (digest_minutes 1440)
# whose first attempt fails is retried, not dead at once.
def test_a_daily_digest_that_fails_once_is_retried(
    db: psycopg.Connection[Any], aws: DeliveryAws, receiver: WebhookReceiver
) -> None:
    webhook(
        receiver, "daily", mode="digest", digest_minutes=1440, behaviour=Behaviour(fail_first=1)
    )
    db.execute("SET inventory.publish_to_topic = off")
    insert_notifications(db, [draft(1)])
    [digest] = rows(db, "kind = 'digest'")

    first = digest["due_at"] + timedelta(minutes=1)
    cycle(aws, first)
    assert [d.status for d in receiver.deliveries("daily")] == [503]

    [after] = rows(db, "kind = 'digest'")
    assert (after["status"], after["attempts"]) == ("failed", 1), after["last_error"]
    cycle(aws, first + timedelta(minutes=2))
    assert [d.status for d in receiver.deliveries("daily")] == [503, 200]


# An attempt that raises (here: its sealed secret no longer opens, after
# SUBSCRIPTION_SECRET_KEY changed) is a failed attempt: recorded, retried, given up after its
# 24 h, instead of coming back forever.
def test_a_delivery_that_cannot_be_sent_is_given_up_after_its_24_hours(
    db: psycopg.Connection[Any],
    aws: DeliveryAws,
    receiver: WebhookReceiver,
    service_env: pytest.MonkeyPatch,
) -> None:
    webhook(receiver, "poisoned")
    db.execute("SET inventory.publish_to_topic = off")
    insert_notifications(db, [draft(1)])
    service_env.setenv("SUBSCRIPTION_SECRET_KEY", "another-key-0123456789abcdef0123456789abcdef")
    get_settings.cache_clear()

    moment = START
    for _ in range(40):  # a day and a bit, in 40-minute steps (leases end, the sweep re-enqueues)
        cycle(aws, moment)
        moment += timedelta(minutes=40)

    [row] = rows(db, "kind = 'notification'")
    assert row["attempts"] > 0 or row["last_error"] is not None, row
    assert row["status"] == "dead", row


# The database down fails the messages (batchItemFailures), not the function.
def test_the_database_down_fails_the_messages_without_raising(
    db: psycopg.Connection[Any], aws: DeliveryAws, service_env: pytest.MonkeyPatch
) -> None:
    service_env.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none")
    service_env.setenv("DB_DEADLINE_SECONDS", "2")
    service_env.setenv("DB_STATEMENT_TIMEOUT_MS", "1000")
    get_settings.cache_clear()
    reset_connection()

    answer = notification_delivery.lambda_handler(sqs_event([uuid.uuid4()]), FakeLambdaContext())

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}


# The storm threshold reaches the trigger through the session option data/db.py sets from
# DELIVERY_STORM_THRESHOLD.
def test_the_storm_threshold_setting_reaches_the_trigger(
    db: psycopg.Connection[Any], aws: DeliveryAws, service_env: pytest.MonkeyPatch
) -> None:
    subscribe({"channel": "email", "target": "manager@bar.example"})
    service_env.setenv("DELIVERY_STORM_THRESHOLD", "2")
    get_settings.cache_clear()
    reset_connection()
    run_on_connection(
        lambda connection: insert_notifications(connection, [draft(n) for n in range(3)])
    )

    assert len(rows(db, "kind = 'digest'")) == 1


# A digest held for quiet hours stays open: the night's notifications join it, and one
# digest goes when the window ends.
def test_a_digest_subscription_gets_one_digest_when_its_quiet_hours_end(
    db: psycopg.Connection[Any], aws: DeliveryAws, receiver: WebhookReceiver
) -> None:
    webhook(
        receiver,
        "night",
        mode="digest",
        digest_minutes=60,
        quiet_hours={"start": "22:00", "end": "07:00", "time_zone": "UTC"},
    )
    db.execute("SET inventory.publish_to_topic = off")
    night = datetime(2031, 1, 1, 22, 30, tzinfo=UTC)
    for hour in range(3):  # three notifications, an hour apart, each digest due when looked at
        insert_notifications(db, [draft(hour)])
        db.execute(
            "UPDATE notification_deliveries SET due_at = 'epoch'"
            " WHERE kind = 'digest' AND sealed_at IS NULL"
        )
        cycle(aws, night + timedelta(hours=hour))
    assert receiver.deliveries("night") == []

    morning = datetime(2031, 1, 2, 7, 0, 1, tzinfo=UTC)
    cycle(aws, morning)
    cycle(aws, morning + timedelta(minutes=16))
    assert len(receiver.deliveries("night")) == 1, [
        d.body["data"]["count"] for d in receiver.deliveries("night")
    ]


# A message lost after its row was marked enqueued is put on the queue again by a dispatch
# once 20 minutes have passed, not before.
def test_a_lost_message_is_enqueued_again_after_twenty_minutes(
    db: psycopg.Connection[Any], aws: DeliveryAws, receiver: WebhookReceiver
) -> None:
    webhook(receiver, "lost")
    db.execute("SET inventory.publish_to_topic = off")
    insert_notifications(db, [draft(1)])
    with at(START):
        assert dispatch_due(START).enqueued == 1
    aws.sqs.purge_queue(QueueUrl=aws.queue_url)  # the message is lost

    with at(START + timedelta(minutes=10)):
        assert dispatch_due(START + timedelta(minutes=10)).enqueued == 0
    cycle(aws, START + timedelta(minutes=21))
    assert [d.status for d in receiver.deliveries("lost")] == [200]
