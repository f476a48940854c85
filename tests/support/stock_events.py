"""`stock.changed` events for the outbox and bus tests: an event as a sale would owe it, rows
owed in the test's database, and their clock moved back past the sweep's minute."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from inventory.data import stock_events
from inventory.rules.stock_events import PackageStatus, ProductStock, StockChanged

SOLD_AT = datetime(2026, 3, 8, 14, 5, tzinfo=UTC)


def stock_changed(*stock: Decimal | str, **changes: Any) -> StockChanged:
    """A sale's event: one product per `stock` figure (3.5 by default), one low package."""
    figures = stock or ("3.5",)
    values: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "cause": "sale",
        "sale_id": uuid.uuid4(),
        "movement_id": None,
        "occurred_at": SOLD_AT,
        "products": tuple(
            ProductStock(uuid.uuid4(), Decimal(figure), version)
            for version, figure in enumerate(figures, start=1)
        ),
        "packages": (PackageStatus(uuid.uuid4(), 4, "low_stock"),),
    }
    return StockChanged(**(values | changes))


def owe(connection: psycopg.Connection[Any], count: int = 1, **changes: Any) -> list[UUID]:
    """`count` events committed to the outbox (each in a transaction of its own), their ids."""
    ids = []
    for _ in range(count):
        with connection.transaction():
            ids.append(stock_events.insert(connection, stock_changed(**changes)))
    return ids


def backdate(connection: psycopg.Connection[Any], ids: Sequence[UUID], minutes: float = 2) -> None:
    """Make the rows owed `minutes` longer, as if written that long ago."""
    connection.execute(
        "UPDATE stock_events SET created_at = created_at - %s WHERE id = ANY(%s)",
        (timedelta(minutes=minutes), list(ids)),
    )


def rows(connection: psycopg.Connection[Any]) -> dict[UUID, dict[str, Any]]:
    """Every outbox row by id (detail as the JSON text stored)."""
    with connection.cursor(row_factory=dict_row) as cursor:
        found = cursor.execute(
            "SELECT id, detail::text AS detail, created_at, published_at, attempts, last_error"
            " FROM stock_events"
        ).fetchall()
    return {row["id"]: row for row in found}
