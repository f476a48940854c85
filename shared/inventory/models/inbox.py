"""The inbox's bodies (SPEC §9): a stored notification as the API shows it, the mark-read
request and its answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from inventory.models.envelope import Envelope
from inventory.models.numbers import ExactJsonObject
from inventory.rules.alert_types import NotificationType, Priority, ReferenceType

MAX_MARK_IDS = 500  # one UPDATE by primary key; more is a `before`, or several requests


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _rfc3339_only(value: object) -> object:
    """pydantic also reads a number (`0`, `"1.5"`) as seconds since 1970: a mistake to report
    here, not an instant to guess. A number is the wrong shape (400), as any unreadable text."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("datetime_type", "Input should be an RFC 3339 date-time")
    try:
        float(value)
    except ValueError:
        return value
    raise PydanticCustomError(
        "datetime_parsing", "Input should be an RFC 3339 date-time, not a number"
    )


def _in_utc(value: datetime) -> datetime:
    """In UTC, as PostgreSQL is given it: it refuses offsets beyond ±15:59 that Python reads."""
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first year Python holds
        raise PydanticCustomError(
            "datetime_range", "Input is outside the years 1 to 9999"
        ) from None


GivenInstant = Annotated[AwareDatetime, BeforeValidator(_rfc3339_only), AfterValidator(_in_utc)]
"""An instant a request gives (`since`, `before`): RFC 3339 text with its offset; a local time
without one is refused (422: which instant would it be?)."""

Instant = Annotated[AwareDatetime, AfterValidator(_utc)]
"""A stored instant, written in UTC with microseconds (`2025-10-21T12:00:00.123456Z`): the
exact value a `since` or `before` may be given back."""


class InboxState(StrEnum):
    OPEN = "open"  # resolved_at is null
    RESOLVED = "resolved"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class InboxFilter:
    """What GET /api/notifications narrows the list to; None (and `ALL`) narrow nothing."""

    state: InboxState = InboxState.ALL
    unread: bool | None = None
    type: NotificationType | None = None
    priority: Priority | None = None
    reference_id: UUID | None = None
    since: datetime | None = None  # created_at >= since


class InboxItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    type: NotificationType
    priority: Priority
    title: str
    message: str
    reference_type: ReferenceType
    reference_id: UUID
    data: ExactJsonObject = Field(
        description="The figures behind the alert (max_sellable, baseline, bottleneck, "
        "days_until_stockout…); numbers with the digits they were stored with."
    )
    created_at: Instant
    read_at: Instant | None = Field(description="When it was first marked read; null: unread.")
    read_by: str | None = Field(
        description="Who first marked it read: the token's client_id, else its subject."
    )
    resolved_at: Instant | None = Field(
        description="When its episode resolved (the condition cleared); null: open. An "
        "alert_resolved notification is resolved when it is stored."
    )
    episode_id: UUID | None = Field(
        default=None,
        description="The episode of its condition: the alerts of one outage share it, and its "
        "alert_resolved names it too. Null for notifications closed before episodes existed.",
    )


class MarkReadRequest(BaseModel):
    """Exactly one of `ids` and `before`."""

    model_config = ConfigDict(extra="forbid")

    ids: list[UUID] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_MARK_IDS,
        description=f"Mark these (1 to {MAX_MARK_IDS}); ids that name nothing are ignored.",
    )
    before: GivenInstant | None = Field(
        default=None,
        description="Mark every notification created before this instant (with its offset).",
    )


class MarkedRead(BaseModel):
    marked: int = Field(description="Notifications newly marked read (already read: not counted).")


# Each route's answer under its own name: the OpenAPI schema's and a generated client's class.
class InboxItemEnvelope(Envelope[InboxItem]):
    """One notification."""


class InboxListEnvelope(Envelope[list[InboxItem]]):
    """One page of notifications, newest first."""


class MarkedReadEnvelope(Envelope[MarkedRead]):
    """How many notifications a mark-read request newly marked."""
