"""The deliveries a notification owed, for GET /api/notifications/{notificationId}/deliveries."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC
from uuid import UUID

import psycopg

from inventory.data import notification_deliveries, notification_inbox
from inventory.errors import NotFoundError
from inventory.models.deliveries import DeliveryItem


def of_notification(
    connection: psycopg.Connection[object], notification_id: UUID
) -> list[DeliveryItem]:
    """404 when no notification has the id; [] for one nobody was owed."""
    if notification_inbox.fetch_one(connection, notification_id) is None:
        raise NotFoundError(f"No notification has the id {notification_id}.")
    records = notification_deliveries.deliveries_of(connection, notification_id)
    items = []
    for record in records:
        values = asdict(record)
        if record.sent_at is not None:
            values["sent_at"] = record.sent_at.astimezone(UTC)
        items.append(DeliveryItem.model_validate(values))
    return items
