"""The monitor's result (SPEC §5) and the notification endpoints' bodies (SPEC §6)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from inventory.rules.notification_draft import NotificationType


class MonitorSummary(BaseModel):
    packages_checked: int = Field(description="Active packages with components evaluated.")
    notifications_sent: int
    bottlenecks_detected: int = Field(
        description="Products that met the bottleneck rule, whether or not a cooldown held them."
    )
    errors: list[str] = Field(description="Failures of single checks or notifications.")
    products_checked: int = Field(default=0, description="Active products evaluated.")
    stockouts_predicted: int = 0
    notifications_suppressed: int = Field(
        default=0, description="Notifications held back by a live cooldown entry."
    )
    notifications_deferred: int = Field(
        default=0,
        description=(
            "Notifications not claimed because the run reached its time limit; the next run "
            "sends them."
        ),
    )


class MonitorResult(BaseModel):
    success: bool = Field(description="False when the run could not evaluate at all.")
    timestamp: str = Field(description="Start of the run, ISO-8601 UTC with milliseconds.")
    duration_ms: int
    summary: MonitorSummary


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

    package_id: UUID | None = Field(default=None, description="Check this package only.")
    check_bottlenecks: StrictBool | None = Field(
        default=None, description="Alone (without check_all), run only the bottleneck check."
    )
    check_all: StrictBool | None = Field(default=None, description="Run every check (default).")


class PackageCheck(BaseModel):
    type: Literal["package_check"] = "package_check"
    result: CheckResult


class BottleneckCheck(BaseModel):
    type: Literal["bottleneck_check"] = "bottleneck_check"
    results: list[CheckResult]


class FullCheck(BaseModel):
    type: Literal["full_check"] = "full_check"
    summary: MonitorSummary
    timestamp: str
    duration_ms: int


class CooldownStats(BaseModel):
    total_entries: int = Field(description="Live cooldown entries (expires_at > now).")
    by_type: dict[str, int] = Field(description="Live entries per notification type.")


class CooldownsCleared(BaseModel):
    cleared: int = Field(description="Cooldown entries deleted.")
    type: NotificationType | None = None
    reference_id: UUID | None = None


CheckData = Annotated[PackageCheck | BottleneckCheck | FullCheck, Field(discriminator="type")]
