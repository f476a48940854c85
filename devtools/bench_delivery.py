"""Delivery's figures for `make bench` (SPEC §10): what the outbox trigger adds to the statement
that stores notifications, and how fast the real delivery function sends.

With two subscriptions (a webhook to a local receiver that verifies every signature, an
e-mail to moto's SES) and the topic (moto's SNS), on the bench's PostgreSQL and moto:
- the insert of 20 and of 10,000 notifications in one statement, with the trigger and with it
  disabled (medians);
- 200 notifications stored 20 per statement (below the storm threshold: 600 deliveries), then
  the dispatch and the delivery function on every message (Lambda's event source emulated):
  deliveries per second and the time per queue message;
- a storm of 10,000 in one statement: what the subscribers get, and how long it takes (the
  topic's 10,000 left out: moto's SQS, not the code, is what slows down with that many).
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg

from devtools.bench_services import BenchServices, note, quiet_stdout

REPEAT = 3


def _drafts(count: int) -> list[Any]:
    from inventory.rules.alert_types import (
        NotificationDraft,
        NotificationType,
        Priority,
        ReferenceType,
    )

    return [
        NotificationDraft(
            type=NotificationType.PACKAGE_LOW_STOCK,
            priority=Priority.HIGH,
            reference_type=ReferenceType.PACKAGE,
            reference_id=uuid.uuid4(),
            title=f"Package {n} is running low",
            message=f"Package {n} is running low.",
        )
        for n in range(count)
    ]


def _emptied(connection: psycopg.Connection[Any]) -> None:
    # Analysed after each empty: without it, one bench run's inserts after the first took 14 s
    # instead of 2, trigger or not (likely a plan chosen on the statistics of rows now gone).
    connection.execute("TRUNCATE notification_deliveries, notification_episodes, notifications")
    connection.execute("ANALYZE notification_deliveries, notification_episodes, notifications")


def _insert_ms(connection: psycopg.Connection[Any], count: int) -> dict[str, float]:
    """Medians of the insert with the trigger and without it, measured alternately."""
    from inventory.data.notification_rows import insert_notifications

    timings: dict[str, list[float]] = {"with_trigger": [], "without_trigger": []}
    for _ in range(REPEAT):
        for name, action in (("with_trigger", "ENABLE"), ("without_trigger", "DISABLE")):
            connection.execute(
                f"ALTER TABLE notifications {action} TRIGGER notifications_owe_deliveries"
            )
            _emptied(connection)
            drafts = _drafts(count)
            started = time.perf_counter()
            insert_notifications(connection, drafts)
            timings[name].append((time.perf_counter() - started) * 1000)
    connection.execute("ALTER TABLE notifications ENABLE TRIGGER notifications_owe_deliveries")
    return {name: round(statistics.median(values), 1) for name, values in timings.items()}


def measure_delivery(services: BenchServices) -> dict[str, Any]:
    import boto3

    from devtools import sqs_event_source
    from devtools.lambda_runtime import LocalLambdaContext
    from devtools.local_services import applied_environment
    from devtools.subscription_rows import add_subscription
    from devtools.webhook_receiver import WebhookReceiver
    from inventory.config import get_settings
    from inventory.data import delivery_queue
    from inventory.data.db import reset_connection
    from inventory.data.notification_rows import insert_notifications
    from inventory.services.dispatch import dispatch_due

    endpoint = services.dynamodb_endpoint  # moto's server answers every service
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    queue_url = sqs.create_queue(QueueName=f"bench-deliveries-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    topic_arn = boto3.client("sns", endpoint_url=endpoint).create_topic(Name="bench-topic")[
        "TopicArn"
    ]
    sender = "bench@inventory.example"
    boto3.client("sesv2", endpoint_url=endpoint).create_email_identity(EmailIdentity=sender)
    variables = {
        "AWS_ENDPOINT_URL_SQS": endpoint,
        "AWS_ENDPOINT_URL_SNS": endpoint,
        "AWS_ENDPOINT_URL_SESV2": endpoint,
        "DELIVERY_QUEUE_URL": queue_url,
        "NOTIFICATION_TOPIC_ARN": topic_arn,
        "NOTIFICATION_SENDER_EMAIL": sender,
        "SUBSCRIPTION_SECRET_KEY": "bench-subscription-secret-key-0123456789abcdef",
        "ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
    figures: dict[str, Any] = {}
    with (
        applied_environment(variables),
        WebhookReceiver() as receiver,
        psycopg.connect(services.database_url, autocommit=True) as connection,
    ):
        get_settings.cache_clear()
        reset_connection()
        delivery_queue.reset_client()
        from functions.notification_delivery import app as delivery_function
        from inventory.services.subscription_secrets import new_secret

        connection.execute("TRUNCATE notification_subscriptions CASCADE")
        secret = new_secret()
        add_subscription(connection, "webhook", receiver.url("bench"), secret=secret)
        add_subscription(connection, "email", "manager@inventory.example")
        receiver.register("bench", secret)

        note("delivery: the outbox trigger's cost on the insert")
        for count in (20, 10_000):
            figures[f"insert_{count}_ms"] = _insert_ms(connection, count)

        def drain() -> float:
            started = time.perf_counter()
            context = LocalLambdaContext("NotificationDeliveryFunction", 512, 120)
            with quiet_stdout():
                sqs_event_source.drain(sqs, queue_url, delivery_function.lambda_handler, context)
            return time.perf_counter() - started

        note("delivery: 200 notifications, 600 deliveries, through the delivery function")
        _emptied(connection)
        for _ in range(10):
            insert_notifications(connection, _drafts(20))
        started = time.perf_counter()
        dispatched = dispatch_due(datetime.now(UTC))
        dispatch_s = time.perf_counter() - started
        sending_s = drain()
        sent = connection.execute(
            "SELECT count(*) FROM notification_deliveries WHERE status = 'sent'"
        ).fetchone()
        messages = dispatched.messages
        figures["steady"] = {
            "deliveries": dispatched.enqueued,
            "sent": sent[0] if sent else 0,
            "queue_messages": messages,
            "dispatch_ms": round(dispatch_s * 1000, 1),
            "sending_s": round(sending_s, 2),
            "deliveries_per_second": round(dispatched.enqueued / sending_s, 1),
            "ms_per_message": round(sending_s * 1000 / max(1, messages), 1),
            "webhooks_verified": len(receiver.deliveries("bench")),
        }

        note("delivery: a storm of 10,000 in one statement (the subscribers' side)")
        _emptied(connection)
        # The topic gets all 10,000 (its subscribers filter); moto's SQS slows down with
        # thousands of messages, so the topic's rate is the steady figure's, not this one's.
        connection.execute("SET inventory.publish_to_topic = off")
        receiver_before = len(receiver.deliveries("bench"))
        started = time.perf_counter()
        insert_notifications(connection, _drafts(10_000))
        stored_s = time.perf_counter() - started
        started = time.perf_counter()
        dispatched = dispatch_due(datetime.now(UTC))
        dispatch_s = time.perf_counter() - started
        sending_s = drain()
        figures["storm_10000"] = {
            "insert_ms": round(stored_s * 1000, 1),
            "deliveries_enqueued": dispatched.enqueued,
            "dispatch_ms": round(dispatch_s * 1000, 1),
            "sending_s": round(sending_s, 2),
            "webhook_messages": len(receiver.deliveries("bench")) - receiver_before,
        }
        connection.execute("RESET inventory.publish_to_topic")
        connection.execute("TRUNCATE notification_subscriptions CASCADE")
        connection.execute("TRUNCATE notification_deliveries, notification_episodes, notifications")
    get_settings.cache_clear()
    reset_connection()
    return figures
