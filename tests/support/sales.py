"""Sales rows (order_items) at chosen times, for usage and stockout tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg


def insert_sales(
    connection: psycopg.Connection[Any],
    sales: Sequence[tuple[str, UUID, Decimal | int | str, datetime]],
) -> None:
    """Each sale is ("product" | "package", id, quantity, created_at)."""
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO order_items (product_id, package_id, quantity, created_at)"
            " VALUES (%s, %s, %s, %s)",
            [
                (
                    ref if kind == "product" else None,
                    ref if kind == "package" else None,
                    Decimal(quantity),
                    created_at,
                )
                for kind, ref, quantity, created_at in sales
            ],
        )


def notification_keys(connection: psycopg.Connection[Any]) -> list[tuple[str, UUID]]:
    """(type, reference_id) of every stored notification, sorted."""
    rows = connection.execute(
        "SELECT type, reference_id FROM notifications ORDER BY type, reference_id"
    ).fetchall()
    return [(row[0], row[1]) for row in rows]
