"""Stock of individual products, for checks that sell products on their own."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from inventory.rules.cart import Stock


def fetch_stock(
    connection: psycopg.Connection[Any], product_ids: Collection[UUID]
) -> dict[UUID, Stock]:
    """The named products that exist (whatever their activity), in one statement."""
    with connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(
            "SELECT id, name, current_stock, is_active FROM products WHERE id = ANY(%s)",
            (list(product_ids),),
        )
        return {
            row["id"]: Stock(row["id"], row["name"], row["current_stock"], row["is_active"])
            for row in cursor.fetchall()
        }
