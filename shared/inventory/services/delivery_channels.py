"""One delivery's message, rendered for its channel and sent through its transport.

The renderers are pure (rules/delivery_email.py, rules/delivery_payloads.py, rules/
webhook_signatures.py); the transports are data/webhook_client.py, data/email_client.py and
data/topic_client.py. What is sent for a delivery is decided by its row alone (its
notification, or the digest's sealed notifications), so every retry sends the same message.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from inventory.config import Settings
from inventory.data import email_client, topic_client
from inventory.data.notification_deliveries import ClaimedDelivery, DigestItems
from inventory.data.webhook_client import post_webhook
from inventory.rules.delivery_email import EmailContent, digest_email, notification_email
from inventory.rules.delivery_payloads import slack_body, topic_message, webhook_body
from inventory.rules.delivery_types import (
    Attempt,
    AttemptResult,
    DeliveryChannel,
    DigestContent,
    Links,
    MessageNotification,
)
from inventory.rules.webhook_signatures import webhook_headers
from inventory.services.subscription_secrets import decrypt


@dataclass(frozen=True, slots=True)
class Message:
    """What one delivery sends: the e-mail, or the body of a webhook or Slack post."""

    email: EmailContent | None = None
    body: bytes | None = None


def content_of(
    delivery: ClaimedDelivery, items: DigestItems | None
) -> MessageNotification | DigestContent:
    if delivery.notification is not None:
        return delivery.notification
    listed = items.listed if items else ()
    opened = min((n.created_at for n in listed), default=delivery.created_at)
    return DigestContent(listed=listed, total=items.total if items else 0, opened_at=opened)


def message_for(
    delivery: ClaimedDelivery, items: DigestItems | None, settings: Settings
) -> Message:
    links = Links(api_base_url=settings.public_api_url)
    content = content_of(delivery, items)
    if delivery.channel is DeliveryChannel.EMAIL:
        if isinstance(content, DigestContent):
            return Message(email=digest_email(content, links))
        return Message(email=notification_email(content, links))
    if delivery.channel is DeliveryChannel.SLACK:
        return Message(body=slack_body(content, links))
    return Message(body=webhook_body(content, links))


def send_message(delivery: ClaimedDelivery, message: Message, settings: Settings) -> Attempt:
    """One attempt at a subscriber's delivery (not the topic's: send_to_topic)."""
    target = delivery.target or ""
    if delivery.channel is DeliveryChannel.EMAIL:
        assert message.email is not None
        sender = settings.notification_sender_email
        if not sender:
            return Attempt(
                AttemptResult.RETRY,
                error="no sender address: NOTIFICATION_SENDER_EMAIL is not set",
            )
        content = message.email
        raw = email_client.build_email(
            delivery_id=delivery.id,
            sender=sender,
            recipient=target,
            subject=content.subject,
            text=content.text,
            html=content.html,
            now=datetime.now(UTC),
        )
        return email_client.send_email(raw, sender=sender, recipient=target)
    assert message.body is not None
    headers = {"content-type": "application/json"}
    if delivery.channel is DeliveryChannel.WEBHOOK:
        secrets = [decrypt(delivery.subscription_id, s) for s in delivery.sealed_secrets]  # type: ignore[arg-type]
        headers = webhook_headers(secrets, str(delivery.id), int(time.time()), message.body)
    return post_webhook(
        target,
        message.body,
        headers,
        timeout_seconds=settings.webhook_timeout_seconds,
        allow_private=settings.allow_private_webhook_targets,
    )


def send_to_topic(deliveries: Sequence[ClaimedDelivery], settings: Settings) -> dict[UUID, Attempt]:
    """Publish the topic's deliveries (ten per call); an attempt for each."""
    topic_arn = settings.notification_topic_arn
    if not topic_arn:
        missing = Attempt(AttemptResult.RETRY, error="NOTIFICATION_TOPIC_ARN is not set")
        return {d.id: missing for d in deliveries}
    links = Links(api_base_url=settings.public_api_url)
    messages = []
    for delivery in deliveries:
        assert delivery.notification is not None  # the topic's rows are single notifications
        subject, body, attributes = topic_message(delivery.notification, links)
        messages.append(
            topic_client.TopicMessage(
                entry_id=str(delivery.id),
                body=body,
                type=attributes["type"],
                priority=attributes["priority"],
                reference_type=attributes["reference_type"],
                subject=subject,
            )
        )
    attempts = topic_client.publish_to_topic(topic_arn, messages)
    lost = Attempt(AttemptResult.RETRY, error="SNS gave no answer for this entry")
    return {d.id: attempts.get(str(d.id), lost) for d in deliveries}
