"""publish_to_topic (data/topic_client.py) through moto's SNS over HTTP, to an SQS queue
subscribed with raw delivery and a filter policy on `priority`: what arrives, with which
attributes, and what each entry's result becomes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pytest

from inventory.data import topic_client
from inventory.data.topic_client import TopicMessage, publish_to_topic
from inventory.rules.delivery_types import AttemptResult
from tests.support import services

if TYPE_CHECKING:
    from mypy_boto3_sns.client import SNSClient
    from mypy_boto3_sqs.client import SQSClient


@dataclass(frozen=True)
class Subscribed:
    topic_arn: str
    queue_url: str
    sns: SNSClient
    sqs: SQSClient


@pytest.fixture
def topic(moto_endpoint: str, service_env: pytest.MonkeyPatch) -> Iterator[Subscribed]:
    """A fresh topic whose high and urgent notifications reach a queue, raw; the production
    client pointed at moto."""
    import boto3

    service_env.setenv("AWS_ENDPOINT_URL_SNS", moto_endpoint)
    topic_client.sns_client.cache_clear()
    sns = boto3.client("sns", endpoint_url=moto_endpoint)
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint)
    name = f"notifications-{uuid.uuid4().hex[:12]}"
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={
            "RawMessageDelivery": "true",
            "FilterPolicy": json.dumps({"priority": ["high", "urgent"]}),
        },
    )
    yield Subscribed(topic_arn, queue_url, sns, sqs)
    topic_client.sns_client.cache_clear()
    sqs.delete_queue(QueueUrl=queue_url)
    sns.delete_topic(TopicArn=topic_arn)


def notification(priority: str, *, size: int = 0) -> TopicMessage:
    entry_id = str(uuid.uuid4())
    data = {"id": entry_id, "priority": priority} | ({"padding": "x" * size} if size else {})
    body = {"type": "notification.created", "data": data}
    return TopicMessage(
        entry_id=entry_id,
        body=json.dumps(body),
        type="package_unavailable",
        priority=priority,
        reference_type="package",
    )


def received(topic: Subscribed) -> list[Any]:
    messages: list[Any] = []
    while True:
        answer = topic.sqs.receive_message(
            QueueUrl=topic.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        batch = answer.get("Messages", [])
        if not batch:
            return messages
        messages += batch


def test_notifications_are_published_in_batches_with_attributes_to_filter_on(
    topic: Subscribed,
) -> None:
    priorities = ["low", "high", "urgent"] * 4  # 12: two calls
    messages = [notification(p) for p in priorities]

    attempts = publish_to_topic(topic.topic_arn, messages)  # the production client

    assert set(attempts) == {m.entry_id for m in messages}
    assert {a.result for a in attempts.values()} == {AttemptResult.DELIVERED}
    arrived = received(topic)
    wanted = {m.entry_id: m for m in messages if m.priority != "low"}
    assert sorted(json.loads(m["Body"])["data"]["id"] for m in arrived) == sorted(wanted)
    for message in arrived:  # raw: the body as published, the attributes as SQS attributes
        sent = wanted[json.loads(message["Body"])["data"]["id"]]
        assert message["Body"] == sent.body
        attributes = {
            name: (value["DataType"], value["StringValue"])
            for name, value in message["MessageAttributes"].items()
        }
        assert attributes == {
            "type": ("String", "package_unavailable"),
            "priority": ("String", sent.priority),
            "reference_type": ("String", "package"),
        }


def test_a_message_over_snss_limit_is_refused_alone(topic: Subscribed) -> None:
    fine, too_long = notification("high"), notification("urgent", size=300_000)

    attempts = publish_to_topic(topic.topic_arn, [fine, too_long], client=topic.sns)

    assert attempts[fine.entry_id].result is AttemptResult.DELIVERED
    refused = attempts[too_long.entry_id]
    assert refused.result is AttemptResult.REFUSED
    assert refused.error == "too large for SNS (256 KB a message)"
    assert len(received(topic)) == 1


def test_batches_are_cut_to_stay_under_snss_limit_and_carry_their_subject(
    topic: Subscribed,
) -> None:
    # Ten of 60 KB each are 600 KB: one call would be refused whole.
    messages = [
        replace(notification("urgent", size=60_000), subject=f"Urgent: Package {n} cannot be sold")
        for n in range(10)
    ]
    messages.append(replace(notification("urgent"), subject="Caf\u00e9 cannot be sold"))

    attempts = publish_to_topic(topic.topic_arn, messages, client=topic.sns)

    assert {a.result for a in attempts.values()} == {AttemptResult.DELIVERED}
    assert len(received(topic)) == 11


def test_a_failed_call_retries_every_entry(topic: Subscribed) -> None:
    messages = [notification("high") for _ in range(12)]
    missing = topic.topic_arn + "-missing"

    attempts = publish_to_topic(missing, messages, client=topic.sns)

    assert set(attempts) == {m.entry_id for m in messages}
    assert {a.result for a in attempts.values()} == {AttemptResult.RETRY}
    assert len({a.error for a in attempts.values()}) == 1
    assert next(iter(attempts.values())).error == "SNS NotFound: Topic does not exist"


def test_an_unreachable_endpoint_retries_every_entry(service_env: pytest.MonkeyPatch) -> None:
    service_env.setenv("AWS_ENDPOINT_URL_SNS", f"http://127.0.0.1:{services.free_port()}")
    messages = [notification("high") for _ in range(3)]

    attempts = publish_to_topic(
        "arn:aws:sns:us-east-1:123456789012:x", messages, client=topic_client.create_sns_client()
    )

    assert {a.result for a in attempts.values()} == {AttemptResult.RETRY}
    error = next(iter(attempts.values())).error
    assert error is not None
    assert error.startswith("SNS unreachable: Could not connect")


def test_entry_ids_must_be_distinct() -> None:
    message = notification("high")
    with pytest.raises(ValueError, match="distinct"):
        publish_to_topic("arn:aws:sns:us-east-1:123456789012:x", [message, message])
