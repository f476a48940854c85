"""Subscription rows stored straight in the table (a webhook's secret sealed as the API seals
it), for the bench and the tests of what deliveries they are owed."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import psycopg

from inventory.services.subscription_secrets import encrypt, new_secret


def add_subscription(
    db: psycopg.Connection[Any],
    channel: str = "webhook",
    target: str = "https://hooks.example.com/inventory",
    *,
    secret: str | None = None,
    **columns: Any,
) -> UUID:
    """A subscription row (a webhook's secret sealed as the API seals it); its id."""
    values: dict[str, Any] = {"channel": channel, "target": target, **columns}
    if "quiet_hours" in values and values["quiet_hours"] is not None:
        values["quiet_hours"] = json.dumps(values["quiet_hours"])
    row = db.execute("SELECT gen_random_uuid()").fetchone()
    assert row is not None
    subscription_id: UUID = row[0]
    if channel == "webhook":
        values["webhook_secret"] = encrypt(subscription_id, secret or new_secret())
    names = ", ".join(["id", *values])
    marks = ", ".join(["%s"] * (len(values) + 1))
    db.execute(
        f"INSERT INTO notification_subscriptions ({names}) VALUES ({marks})",
        [subscription_id, *values.values()],
    )
    return subscription_id
