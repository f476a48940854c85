"""What GET /api/health reports: each dependency's state and the overall verdict."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from inventory.models.envelope import Envelope


class DependencyHealth(BaseModel):
    status: Literal["ok", "error"]
    latency_ms: float = Field(description="Time the check took, failed or not.")
    reason: str | None = Field(default=None, description="Why the check failed; no secrets.")


class HealthReport(BaseModel):
    healthy: bool = Field(description="True when every dependency answered.")
    postgres: DependencyHealth
    cooldown_table: DependencyHealth

    def failure_summary(self) -> str:
        """One line naming each failed dependency and why (for a 503 message)."""
        failed = [
            f"{name}: {check.reason or 'unavailable'}"
            for name, check in (
                ("postgres", self.postgres),
                ("cooldown_table", self.cooldown_table),
            )
            if check.status == "error"
        ]
        return "; ".join(failed)


# The route's answer under its own name, not `Envelope_X_`: the OpenAPI schema's name and a
# generated client's class (one module per route's models, so a function imports only its own).
class HealthReportEnvelope(Envelope[HealthReport]):
    """Each dependency's state; served only when both answer (503 otherwise)."""


class HealthStatus(BaseModel):
    """What anyone may learn without a token: the service is up. Down is a 503 without
    details; which dependency failed, and why, goes to the function's log."""

    status: Literal["up"] = "up"


class HealthStatusEnvelope(Envelope[HealthStatus]):
    """Up (200); down is a 503 that names no dependency."""
