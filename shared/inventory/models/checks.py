"""The bodies of the manual-check and cooldown endpoints (SPEC §6)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from inventory.models.envelope import Envelope
from inventory.models.monitor_result import MonitorSummary, Timestamp
from inventory.rules.alert_types import NotificationType


class CheckResult(BaseModel):
    """What one manual check did: sent a notification, or why not."""

    triggered: bool
    notification_id: UUID | None = None
    type: NotificationType | None = None
    reason: str | None = None
    reference_id: UUID | None = Field(
        default=None, description="The package or product the result is about."
    )


class NotificationCheckRequest(BaseModel):
    """POST body. Strict booleans: "yes" or 1 is a mistake to report, not to guess."""

    model_config = ConfigDict(extra="forbid")

    package_id: UUID | None = Field(
        default=None, description="Check this package only (alone: no other field with it)."
    )
    check_bottlenecks: StrictBool | None = Field(
        default=None, description="true without check_all: run only the bottleneck check."
    )
    check_all: StrictBool | None = Field(
        default=None,
        description="Run every check (what an empty body does). A body whose flags are all "
        "false asks for no check: 422.",
    )


class PackageCheck(BaseModel):
    type: Literal["package_check"] = "package_check"
    result: CheckResult


class BottleneckCheck(BaseModel):
    type: Literal["bottleneck_check"] = "bottleneck_check"
    results: list[CheckResult]


class FullCheck(BaseModel):
    type: Literal["full_check"] = "full_check"
    summary: MonitorSummary
    timestamp: Timestamp = Field(description="Start of the run, ISO-8601 UTC with milliseconds.")
    duration_ms: int


class CooldownStats(BaseModel):
    total_entries: int = Field(description="Live cooldown entries (expires_at > now).")
    by_type: dict[str, int] = Field(description="Live entries per notification type.")


class CooldownsCleared(BaseModel):
    cleared: int = Field(description="Cooldown entries deleted.")
    type: NotificationType | None = None
    reference_id: UUID | None = None
    cleared_by: str | None = Field(
        default=None,
        description="Who cleared them: the token's app client (client_id), else its subject.",
    )


CheckData = Annotated[PackageCheck | BottleneckCheck | FullCheck, Field(discriminator="type")]


# The route's answer under its own name, not `Envelope_X_`: the OpenAPI schema's name and a
# generated client's class (one module per route's models, so a function imports only its own).
class NotificationCheckEnvelope(Envelope[CheckData]):
    """What a manual check did: `data.type` says which check ran."""


class CooldownStatsEnvelope(Envelope[CooldownStats]):
    """Live notification cooldowns."""


class CooldownsClearedEnvelope(Envelope[CooldownsCleared]):
    """How many cooldown entries were cleared."""
