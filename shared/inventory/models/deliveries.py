"""GET /api/notifications/{notificationId}/deliveries (SPEC §10): what became of each message
a notification owed."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from inventory.models.envelope import Envelope
from inventory.rules.delivery_types import DeliveryChannel, DeliveryStatus


class DeliveryItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    subscription_id: UUID | None = Field(
        description="The subscription it went to; null for the SNS topic of all notifications."
    )
    channel: DeliveryChannel
    status: DeliveryStatus = Field(
        description=(
            "pending: not attempted yet (or held for quiet hours); sent; failed: an attempt "
            "failed and another is scheduled; dead: given up."
        )
    )
    attempts: int = Field(ge=0)
    last_error: str | None = Field(description="What the last failed attempt met.")
    sent_at: AwareDatetime | datetime | None
    digest_id: UUID | None = Field(
        default=None,
        description="Set when the notification went out inside a digest: the digest's id "
        "(the webhook-id of its message); status, attempts and sent_at are the digest's.",
    )


class DeliveryListEnvelope(Envelope[list[DeliveryItem]]):
    pass
