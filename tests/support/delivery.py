"""Delivery's AWS side in moto (the queue, the topic, the sender's identity), the real
delivery function fed by the event source's emulation, and subscriptions made through the
real API handler."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from devtools import sqs_event_source
from devtools.webhook_receiver import WebhookReceiver
from functions.notification_delivery import app as notification_delivery
from functions.subscriptions_create import app as subscriptions_create
from tests.support.events import FakeLambdaContext, http_event, response_json

SENDER = "alerts@bar.example"
SUBSCRIPTION_KEY = "delivery-test-subscription-secret-key-0123456789abcdef"
API_URL = "https://api.bar.example"


@dataclass
class DeliveryAws:
    endpoint: str
    queue_url: str
    topic_arn: str
    sqs: Any
    sns: Any

    def drain(self) -> list[sqs_event_source.Polled]:
        """Run the delivery function on every message visible now (as Lambda would)."""
        return sqs_event_source.drain(
            self.sqs, self.queue_url, notification_delivery.lambda_handler, delivery_context()
        )

    def queued(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesDelayed"]
        )


def delivery_context() -> FakeLambdaContext:
    """The context of a delivery function invocation just started (its timeout is 120 s)."""
    return FakeLambdaContext(function_name="NotificationDeliveryFunction", remaining_ms=120_000)


def reset_clients() -> None:
    from inventory.data import delivery_queue, email_client, topic_client

    delivery_queue.reset_client()
    email_client.sesv2_client.cache_clear()
    topic_client.sns_client.cache_clear()


def set_up_delivery(endpoint: str, env: pytest.MonkeyPatch) -> DeliveryAws:
    """A fresh queue and topic, the sender verified, and the service pointed at them."""
    region = "us-east-1"
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=region)
    sns = boto3.client("sns", endpoint_url=endpoint, region_name=region)
    ses = boto3.client("sesv2", endpoint_url=endpoint, region_name=region)
    suffix = uuid.uuid4().hex[:10]
    # A message the function failed comes back after a second (AWS: the queue's timeout).
    queue_url = sqs.create_queue(
        QueueName=f"deliveries-{suffix}", Attributes={"VisibilityTimeout": "1"}
    )["QueueUrl"]
    topic_arn = sns.create_topic(Name=f"notifications-{suffix}")["TopicArn"]
    ses.create_email_identity(EmailIdentity=SENDER)
    for service in ("SQS", "SNS", "SESV2"):
        env.setenv(f"AWS_ENDPOINT_URL_{service}", endpoint)
    env.setenv("DELIVERY_QUEUE_URL", queue_url)
    env.setenv("NOTIFICATION_TOPIC_ARN", topic_arn)
    env.setenv("NOTIFICATION_SENDER_EMAIL", SENDER)
    env.setenv("PUBLIC_API_URL", API_URL)
    env.setenv("SUBSCRIPTION_SECRET_KEY", SUBSCRIPTION_KEY)
    # The test's receiver listens on 127.0.0.1 over plain HTTP.
    env.setenv("ALLOW_PRIVATE_WEBHOOK_TARGETS", "true")
    env.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    reset_clients()
    return DeliveryAws(endpoint, queue_url, topic_arn, sqs, sns)


def subscribe(body: dict[str, Any]) -> dict[str, Any]:
    """POST /api/notification-subscriptions through its handler; the created subscription."""
    response = subscriptions_create.lambda_handler(
        http_event("subscriptions_create.json", body=body), FakeLambdaContext()
    )
    assert response["statusCode"] == 201, response["body"]
    created: dict[str, Any] = response_json(response)["data"]
    return created


def webhook(receiver: WebhookReceiver, name: str, **options: Any) -> dict[str, Any]:
    """A webhook subscription to the receiver's hook `name`, which is told its secret (and how
    to answer: `behaviour=`)."""
    behaviour = options.pop("behaviour", None)
    created = subscribe({"channel": "webhook", "target": receiver.url(name), **options})
    receiver.register(name, created["secret"], behaviour=behaviour)
    return created
