"""What GET /api/health reports: each dependency's state and the overall verdict."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


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
