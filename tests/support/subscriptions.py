"""Subscriptions stored straight in the table, and the deliveries they are owed."""

from __future__ import annotations

from typing import Any

import psycopg

from devtools.subscription_rows import add_subscription

__all__ = ["add_subscription", "deliveries"]


def deliveries(db: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    with db.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        return cursor.execute(
            "SELECT * FROM notification_deliveries ORDER BY kind, created_at, id"
        ).fetchall()
