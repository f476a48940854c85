"""The monitor's result (SPEC §5): what one run checked, sent and could not do."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, WithJsonSchema

from inventory.models.envelope import Envelope

Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
"""An instant as the API writes it, ISO-8601 UTC with milliseconds: 2025-10-21T12:00:00.000Z
(documented as an RFC 3339 `date-time`)."""


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
    episodes_resolved: int = Field(
        default=0,
        description=(
            "Episodes whose condition stayed clear for the rearm window: each got an "
            "alert_resolved notification and its cooldown released."
        ),
    )
    deliveries_enqueued: int = Field(
        default=0,
        description=(
            "Deliveries put on the delivery queue: this run's, retries now due, and any a "
            "writer left behind."
        ),
    )


class MonitorResult(BaseModel):
    success: bool = Field(description="False when the run could not evaluate at all.")
    timestamp: Timestamp = Field(description="Start of the run, ISO-8601 UTC with milliseconds.")
    duration_ms: int
    summary: MonitorSummary


# The route's answer under its own name, not `Envelope_X_`: the OpenAPI schema's name and a
# generated client's class (one module per route's models, so a function imports only its own).
class MonitorResultEnvelope(Envelope[MonitorResult]):
    """One monitor run's result."""
