"""What a delivery message is made of (SPEC §10): the notifications it tells about, for whom,
and what became of an attempt. Pure values, shared by the renderers, the schedule and the
sender."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from typing import Any
from uuid import UUID

from inventory.rules.alert_types import NotificationType, Priority, ReferenceType


class DeliveryChannel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    SLACK = "slack"
    TOPIC = "topic"  # the SNS topic of all notifications (no subscription)


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # not attempted yet
    SENT = "sent"
    FAILED = "failed"  # an attempt failed; another is scheduled
    DEAD = "dead"  # given up (24 h of retries, the subscription disabled, a permanent refusal)


@dataclass(frozen=True, slots=True)
class MessageNotification:
    """One notification as a message tells it."""

    id: UUID
    type: NotificationType
    priority: Priority
    title: str
    message: str
    reference_type: ReferenceType
    reference_id: UUID
    data: Mapping[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DigestContent:
    """A digest: its listed notifications, the most urgent first, and how many it covers in
    all (`total` >= len(listed); the rest are counted, not listed)."""

    listed: tuple[MessageNotification, ...]
    total: int
    opened_at: datetime  # the first notification's time (or the digest's opening)


@dataclass(frozen=True, slots=True)
class QuietWindow:
    """A daily window in an IANA zone when nothing is sent; `end` before `start` crosses
    midnight."""

    start: time
    end: time
    time_zone: str
    bypass_urgent: bool = False


@dataclass(frozen=True, slots=True)
class Links:
    """Where a reader goes next: absolute URLs when the API's base URL is known."""

    api_base_url: str | None = None


class AttemptResult(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # 429, 5xx, a timeout, a refused connection: try again later
    GONE = "gone"  # 410: the receiver asks to be dropped; the subscription is disabled
    REFUSED = "refused"  # never to succeed as it is (the target now resolves to a private host)


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one try of sending made of it."""

    result: AttemptResult
    error: str | None = None  # for the deliveries list: what went wrong, no secrets
    retry_after_seconds: float | None = None  # a Retry-After the receiver sent
    status_code: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
