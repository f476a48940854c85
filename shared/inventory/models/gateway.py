"""What API Gateway answers by itself, before any handler runs: not our envelope."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class GatewayThrottled(BaseModel):
    """API Gateway's own body when a route's throttling limit is reached (HTTP 429)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"message": "Too Many Requests"}]})

    message: str = Field(description='"Too Many Requests".')
