"""The subscriptions' bodies (SPEC §10): create and change requests, a subscription as the API
shows it, the one-time secret answers.

Field checks that need nothing but the value live here (an unknown type names `/types/0`, an
unknown zone `/quiet_hours/time_zone`: 422 through the request validation). What depends on
another field or the network (the target against its channel, the host's addresses; digest
mode against `digest_minutes`) is checked by services/subscriptions.py, on the merged state
of a change too, and named the same way.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from inventory.models.envelope import Envelope
from inventory.models.inbox import Instant
from inventory.rules.alert_types import NotificationType, Priority
from inventory.rules.subscription_types import Channel, DeliveryMode

MAX_TARGET_LENGTH = 2048
MAX_REFERENCE_IDS = 500
MIN_DIGEST_MINUTES = 5
MAX_DIGEST_MINUTES = 1440  # one a day
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+){0,3}")


def _alert_type(value: NotificationType) -> NotificationType:
    if value is NotificationType.ALERT_RESOLVED:
        raise PydanticCustomError(
            "alert_resolved_in_types", "alert_resolved is chosen by send_resolved, not by types"
        )
    return value


def _distinct_types(values: list[NotificationType]) -> list[NotificationType]:
    return list(dict.fromkeys(values))


def _distinct_ids(values: list[UUID]) -> list[UUID]:
    return list(dict.fromkeys(values))


def _time_zone(name: str) -> str:
    """An IANA zone name the zone database knows (`Europe/Paris`); not a path, not `local`."""
    if len(name) <= 64 and _ZONE_NAME.fullmatch(name) and name not in ("localtime", "Factory"):
        try:
            ZoneInfo(name)
            return name
        # OSError: a folder of the zone database ("America") opened as a zone.
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise PydanticCustomError("unknown_time_zone", "Not an IANA time zone (e.g. Europe/Paris)")


SubscriptionTypes = Annotated[
    list[Annotated[NotificationType, AfterValidator(_alert_type)]],
    Field(min_length=1, max_length=len(NotificationType)),
    AfterValidator(_distinct_types),
]
ReferenceIds = Annotated[
    list[UUID],
    Field(min_length=1, max_length=MAX_REFERENCE_IDS),
    AfterValidator(_distinct_ids),
]
ClockTime = Annotated[
    str,
    Field(
        pattern=r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$",
        description="HH:MM, 24-hour clock.",
        examples=["22:00"],
    ),
]
DigestMinutes = Annotated[StrictInt, Field(ge=MIN_DIGEST_MINUTES, le=MAX_DIGEST_MINUTES)]
Target = Annotated[str, Field(min_length=3, max_length=MAX_TARGET_LENGTH)]


class QuietHours(BaseModel):
    """A daily window in the subscriber's zone when nothing is sent (held for its end)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: ClockTime
    end: ClockTime = Field(description="HH:MM; before `start`: the window crosses midnight.")
    time_zone: Annotated[str, AfterValidator(_time_zone)] = Field(
        description="IANA zone name, e.g. `Europe/Paris`.", examples=["Europe/Paris"]
    )
    bypass_urgent: StrictBool = Field(
        default=False, description="true: urgent notifications are sent inside the window too."
    )

    @field_validator("end")
    @classmethod
    def _not_empty(cls, end: str, info: ValidationInfo) -> str:
        if info.data.get("start") == end:
            raise PydanticCustomError("empty_window", "end must differ from start")
        return end


_TYPES = "Only these types (null or absent: every type). alert_resolved: see send_resolved."
_MIN_PRIORITY = "The lowest priority sent (low: everything)."
_REFERENCE_IDS = "Only notifications about these packages or products (null or absent: all)."
_DIGEST = (
    f"With mode digest (required then, and only then): one message every {MIN_DIGEST_MINUTES} "
    f"to {MAX_DIGEST_MINUTES} minutes."
)
_SEND_RESOLVED = 'Whether resolutions ("back in stock", alert_resolved) are sent.'
_TARGET = (
    "email: an address; webhook: an https URL; slack: a Slack incoming-webhook URL "
    "(https://hooks.slack.com/services/…). URLs must resolve to public addresses."
)


class SubscriptionRequest(BaseModel):
    """POST body: a new subscription."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    target: Target = Field(description=_TARGET)
    types: SubscriptionTypes | None = Field(default=None, description=_TYPES)
    min_priority: Priority = Field(default=Priority.LOW, description=_MIN_PRIORITY)
    reference_ids: ReferenceIds | None = Field(default=None, description=_REFERENCE_IDS)
    mode: DeliveryMode = DeliveryMode.IMMEDIATE
    digest_minutes: DigestMinutes | None = Field(default=None, description=_DIGEST)
    quiet_hours: QuietHours | None = None
    send_resolved: StrictBool = Field(default=True, description=_SEND_RESOLVED)


class SubscriptionChange(BaseModel):
    """PATCH body: the fields given replace the stored ones (null clears a nullable one);
    absent fields stay. The channel never changes (create another subscription)."""

    model_config = ConfigDict(extra="forbid")

    target: Target | None = Field(default=None, description=_TARGET)
    types: SubscriptionTypes | None = Field(default=None, description=_TYPES)
    min_priority: Priority | None = Field(default=None, description=_MIN_PRIORITY)
    reference_ids: ReferenceIds | None = Field(default=None, description=_REFERENCE_IDS)
    mode: DeliveryMode | None = None
    digest_minutes: DigestMinutes | None = Field(default=None, description=_DIGEST)
    quiet_hours: QuietHours | None = None
    send_resolved: StrictBool | None = Field(default=None, description=_SEND_RESOLVED)
    enabled: StrictBool | None = Field(
        default=None, description="false: stop sending (disabled_at set); true: send again."
    )


class Subscription(BaseModel):
    """A stored subscription. Its webhook secret is never shown here: only by the answers of
    creation and rotation, once."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    channel: Channel
    target: str
    types: list[NotificationType] | None
    min_priority: Priority
    reference_ids: list[UUID] | None
    mode: DeliveryMode
    digest_minutes: int | None
    quiet_hours: QuietHours | None
    send_resolved: bool
    has_secret: bool = Field(description="Whether it signs its deliveries (webhooks).")
    previous_secret_expires_at: Instant | None = Field(
        description="After a rotation: until when the previous secret still signs beside the "
        "new one."
    )
    disabled_at: Instant | None = Field(description="When it was switched off; null: active.")
    disabled_reason: str | None
    created_at: Instant
    updated_at: Instant
    created_by: str | None = Field(description="The client_id (else subject) that created it.")


class SubscriptionCreated(Subscription):
    secret: str | None = Field(
        description="webhook: the signing secret (`whsec_…`), shown this once; null otherwise."
    )


class SecretRotated(BaseModel):
    id: UUID
    secret: str = Field(description="The new signing secret (`whsec_…`), shown this once.")
    previous_secret_expires_at: Instant = Field(
        description="The previous secret signs beside the new one until then (24 h)."
    )


class SubscriptionDeleted(BaseModel):
    id: UUID
    deleted: Literal[True] = True


class SubscriptionEnvelope(Envelope[Subscription]):
    """One subscription."""


class SubscriptionCreatedEnvelope(Envelope[SubscriptionCreated]):
    """The new subscription, with its webhook secret shown once."""


class SubscriptionListEnvelope(Envelope[list[Subscription]]):
    """One page of subscriptions, oldest first."""


class SecretRotatedEnvelope(Envelope[SecretRotated]):
    """The new webhook secret, shown once."""


class SubscriptionDeletedEnvelope(Envelope[SubscriptionDeleted]):
    """The subscription is gone."""
