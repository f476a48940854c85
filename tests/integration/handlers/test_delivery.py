"""Delivery end to end (SPEC §10): the real monitor handler fed EventBridge's event writes the
notifications and their deliveries, dispatches them to the queue (moto's SQS over HTTP), and the
real delivery function, fed SQS's event, sends them: webhooks to a receiver on 127.0.0.1 that
verifies every signature with the independent `standardwebhooks` package, e-mail through moto's
SES, the topic through moto's SNS. The clock is moved with time-machine (moto's delays too)."""

from __future__ import annotations

import email
import email.policy
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from devtools.local_delivery import sent_raw_emails
from devtools.webhook_receiver import Behaviour, WebhookReceiver
from functions.notification_deliveries import app as notification_deliveries
from inventory.data.notification_rows import insert_notifications
from inventory.rules.alert_types import NotificationDraft, NotificationType, Priority, ReferenceType
from tests.support.catalog import component, insert_catalog, package
from tests.support.delivery import SENDER, DeliveryAws, subscribe, webhook
from tests.support.events import FakeLambdaContext, http_event, response_json
from tests.support.scheduled_runs import at, monitor_at

MARGARITA = package("Margarita", [component("Limes", 1, 10)], normal=20)
MOJITO = package("Mojito", [component("Mint", 1, 10)], normal=20)
LIMES = MARGARITA.components[0].product_id
MINT = MOJITO.components[0].product_id
# Relative to the real clock: the server's now() (a digest's opening) stays behind the test's.
START = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)


@pytest.fixture
def bar(db: psycopg.Connection[Any], aws: DeliveryAws) -> psycopg.Connection[Any]:
    insert_catalog(db, [MARGARITA, MOJITO])
    return db


def drain_at(aws: DeliveryAws, moment: datetime) -> None:
    with at(moment):
        polls = aws.drain()
    assert all(p.error is None for p in polls), polls


def sell_out(db: psycopg.Connection[Any], *products: Any) -> None:
    db.execute("UPDATE products SET current_stock = 0 WHERE id = ANY(%s)", (list(products),))


def deliveries_of(notification_id: Any) -> list[dict[str, Any]]:
    response = notification_deliveries.lambda_handler(
        http_event(
            "notification_deliveries.json",
            path_parameters={"notificationId": str(notification_id)},
        ),
        FakeLambdaContext(),
    )
    assert response["statusCode"] == 200, response["body"]
    items: list[dict[str, Any]] = response_json(response)["data"]
    return items


def notification_ids(db: psycopg.Connection[Any]) -> list[Any]:
    return [row[0] for row in db.execute("SELECT id FROM notifications ORDER BY title")]


def sent_emails() -> list[email.message.EmailMessage]:
    messages = []
    for raw in sent_raw_emails():
        parsed = email.message_from_string(raw, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        messages.append(parsed)
    return messages


def test_every_notification_reaches_every_subscriber_and_the_topic(
    bar: psycopg.Connection[Any], aws: DeliveryAws, receiver: WebhookReceiver
) -> None:
    shop = webhook(receiver, "shop")
    webhook(receiver, "urgent-only", min_priority="urgent", types=["package_unavailable"])
    subscribe({"channel": "email", "target": "manager@bar.example"})
    emails_before = len(sent_emails())
    sell_out(bar, LIMES, MINT)

    summary = monitor_at(START)
    assert summary["notifications_sent"] >= 2
    assert summary["deliveries_enqueued"] > 0
    drain_at(aws, START)

    ids = notification_ids(bar)
    unavailable = [
        row[0]
        for row in bar.execute("SELECT id FROM notifications WHERE type = 'package_unavailable'")
    ]
    assert receiver.rejected == 0
    received = receiver.deliveries("shop")
    assert sorted(d.body["data"]["id"] for d in received) == sorted(str(i) for i in ids)
    assert {d.body["type"] for d in received} == {"notification.created"}
    assert sorted(d.body["data"]["id"] for d in receiver.deliveries("urgent-only")) == sorted(
        str(i) for i in unavailable
    )
    # The webhook-id is the delivery's stable id, and the API lists the delivery as sent.
    for delivery in received:
        listed = deliveries_of(delivery.body["data"]["id"])
        mine = [d for d in listed if d["subscription_id"] == shop["id"]]
        assert [(d["status"], d["attempts"], d["channel"]) for d in mine] == [
            ("sent", 1, "webhook")
        ]
        assert {d["channel"] for d in listed} >= {"webhook", "email", "topic"}
        assert all(d["status"] == "sent" for d in listed), listed
    assert len(sent_emails()) - emails_before == len(ids)


def test_an_email_has_both_parts_and_names_the_package_and_the_cause(
    bar: psycopg.Connection[Any], aws: DeliveryAws
) -> None:
    subscribe(
        {"channel": "email", "target": "manager@bar.example", "types": ["package_unavailable"]}
    )
    before = len(sent_emails())
    sell_out(bar, LIMES)

    monitor_at(START)
    drain_at(aws, START)

    [message] = sent_emails()[before:]
    assert message["From"] == SENDER
    assert message["To"] == "manager@bar.example"
    assert "Margarita" in message["Subject"]
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    for part in (text.get_content(), html.get_content()):
        assert "Margarita" in part
        assert "Limes" in part  # the cause: the component that ran out


def test_a_receiver_failing_its_first_three_attempts_gets_each_delivery_exactly_once(
    bar: psycopg.Connection[Any], aws: DeliveryAws, receiver: WebhookReceiver
) -> None:
    webhook(receiver, "flaky", behaviour=Behaviour(fail_first=3))
    sell_out(bar, LIMES)
    monitor_at(START)

    # Attempts at once, after 1 min, after 5 more (SQS delays), then after 30 min: beyond SQS's
    # 15-minute delay, so the monitor's dispatch puts it back on the queue.
    moments = [START, START + timedelta(minutes=2), START + timedelta(minutes=8)]
    for moment in moments:
        drain_at(aws, moment)
    assert [d.status for d in receiver.deliveries("flaky")] == [503, 503, 503]
    assert aws.queued() == 0
    later = START + timedelta(minutes=40)
    summary = monitor_at(later)
    assert summary["deliveries_enqueued"] >= 1
    drain_at(aws, later)

    received = receiver.deliveries("flaky")
    assert [d.status for d in received] == [503, 503, 503, 200]
    assert len({d.webhook_id for d in received}) == 1  # one id across every retry
    [notification] = notification_ids(bar)
    [entry] = [d for d in deliveries_of(notification) if d["channel"] == "webhook"]
    assert (entry["status"], entry["attempts"]) == ("sent", 4)
    # Nothing is sent again afterwards, whatever runs.
    monitor_at(later + timedelta(hours=1))
    drain_at(aws, later + timedelta(hours=1))
    assert len(receiver.deliveries("flaky")) == 4


def test_a_receiver_answering_410_has_its_subscription_disabled(
    bar: psycopg.Connection[Any], aws: DeliveryAws, receiver: WebhookReceiver
) -> None:
    gone = webhook(receiver, "gone", behaviour=Behaviour(status=410))
    sell_out(bar, LIMES)
    monitor_at(START)
    drain_at(aws, START)

    [notification] = notification_ids(bar)
    [entry] = [d for d in deliveries_of(notification) if d["channel"] == "webhook"]
    assert entry["status"] == "dead"
    assert "410" in entry["last_error"]
    row = bar.execute(
        "SELECT disabled_at, disabled_reason FROM notification_subscriptions WHERE id = %s",
        (gone["id"],),
    ).fetchone()
    assert row is not None
    assert row[0] is not None
    assert "410" in row[1]
    # A disabled subscription is owed nothing more.
    sell_out(bar, MINT)
    monitor_at(START + timedelta(minutes=10))
    drain_at(aws, START + timedelta(minutes=10))
    assert len(receiver.deliveries("gone")) == 1


@pytest.mark.slow
def test_a_hanging_receiver_costs_its_timeout_not_the_function(
    bar: psycopg.Connection[Any], aws: DeliveryAws, receiver: WebhookReceiver
) -> None:
    webhook(receiver, "hangs", behaviour=Behaviour(hang_seconds=60), types=["package_unavailable"])
    webhook(receiver, "fine", types=["package_unavailable"])
    sell_out(bar, LIMES)
    monitor_at(START)

    started = time.monotonic()
    drain_at(aws, START)
    elapsed = time.monotonic() - started

    assert 14 <= elapsed < 25, elapsed
    assert [d.status for d in receiver.deliveries("fine")] == [200]
    [notification] = notification_ids(bar)
    failed = [d for d in deliveries_of(notification) if d["status"] == "failed"]
    assert len(failed) == 1
    assert "15" in failed[0]["last_error"]


def test_an_alert_storm_of_ten_thousand_is_one_digest_per_subscriber(
    bar: psycopg.Connection[Any],
    aws: DeliveryAws,
    receiver: WebhookReceiver,
    service_env: pytest.MonkeyPatch,
) -> None:
    webhook(receiver, "storm")
    subscribe({"channel": "email", "target": "manager@bar.example"})
    before = len(sent_emails())
    bar.execute("SET inventory.publish_to_topic = off")
    drafts = [
        NotificationDraft(
            type=NotificationType.PACKAGE_LOW_STOCK
            if n % 3
            else NotificationType.PACKAGE_UNAVAILABLE,
            priority=Priority.HIGH if n % 3 else Priority.URGENT,
            reference_type=ReferenceType.PACKAGE,
            reference_id=__import__("uuid").uuid4(),
            title=f"Package {n:05} is short",
            message=f"Package {n:05} is short.",
        )
        for n in range(10_000)
    ]
    insert_notifications(bar, drafts)
    monitor_at(START)
    drain_at(aws, START)

    [digest] = receiver.deliveries("storm")
    assert digest.body["type"] == "notification.digest"
    data = digest.body["data"]
    assert data["count"] == 10_000
    assert len(data["listed"]) + data["more"] == 10_000
    assert {item["priority"] for item in data["listed"]} == {"urgent"}  # the most urgent first
    [mail] = sent_emails()[before:]
    assert "10,000" in mail["Subject"] or "10000" in mail["Subject"]


def test_quiet_hours_hold_across_the_night_the_clocks_change(
    bar: psycopg.Connection[Any], aws: DeliveryAws, receiver: WebhookReceiver
) -> None:
    # Paris moves from UTC+1 to UTC+2 at 02:00 on 28 March 2027: 07:00 that morning is 05:00 UTC.
    webhook(
        receiver,
        "night",
        quiet_hours={"start": "22:00", "end": "07:00", "time_zone": "Europe/Paris"},
    )
    sell_out(bar, LIMES)
    evening = datetime(2027, 3, 27, 22, 30, tzinfo=UTC)  # 23:30 in Paris
    monitor_at(evening)
    drain_at(aws, evening)
    assert receiver.deliveries("night") == []

    for moment in (
        datetime(2027, 3, 28, 1, 0, tzinfo=UTC),
        datetime(2027, 3, 28, 4, 59, tzinfo=UTC),
    ):
        monitor_at(moment)
        drain_at(aws, moment)
        assert receiver.deliveries("night") == [], moment

    morning = datetime(2027, 3, 28, 5, 0, tzinfo=UTC)
    monitor_at(morning)
    drain_at(aws, morning)
    [delivered] = receiver.deliveries("night")
    assert delivered.attempt == 1
    [notification] = notification_ids(bar)
    [entry] = [d for d in deliveries_of(notification) if d["channel"] == "webhook"]
    assert (entry["status"], entry["attempts"]) == ("sent", 1)


def test_the_topic_carries_attributes_subscribers_filter_on(
    bar: psycopg.Connection[Any], aws: DeliveryAws
) -> None:
    queue_url = aws.sqs.create_queue(QueueName=f"urgent-{START.timestamp():.0f}")["QueueUrl"]
    queue_arn = aws.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    aws.sns.subscribe(
        TopicArn=aws.topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={
            "RawMessageDelivery": "true",
            "FilterPolicy": json.dumps({"priority": ["urgent"]}),
        },
    )
    sell_out(bar, LIMES)  # Margarita unavailable (urgent); Limes may also be a low product
    monitor_at(START)
    drain_at(aws, START)

    messages = aws.sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", [])
    assert messages
    for message in messages:
        attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
        assert attributes["priority"] == "urgent"
        assert attributes["type"] == "package_unavailable"
        assert attributes["reference_type"] == "package"
        assert json.loads(message["Body"])["data"]["title"].startswith("Margarita")


def test_a_slack_subscription_gets_a_slack_body_unsigned(
    bar: psycopg.Connection[Any], aws: DeliveryAws, receiver: WebhookReceiver
) -> None:
    # Locally (ALLOW_PRIVATE_WEBHOOK_TARGETS) a Slack target may be the receiver's; in AWS it
    # is on hooks.slack.com.
    created = subscribe(
        {"channel": "slack", "target": receiver.url("slack"), "types": ["package_unavailable"]}
    )
    assert created.get("secret") is None  # Slack checks no signature
    receiver.register_unsigned("slack")
    sell_out(bar, LIMES)

    monitor_at(START)
    drain_at(aws, START)

    [posted] = receiver.deliveries("slack")
    assert "webhook-signature" not in posted.headers
    assert "Margarita" in posted.body["text"]
    assert posted.body["blocks"][0]["type"] == "header"
    assert any("Limes" in json.dumps(block) for block in posted.body["blocks"])
