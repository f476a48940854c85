"""Every product's usage, unfiltered: the reference the monitor's filtered read is checked against.

The same usage CTEs as production (data/usage.py), over every active product and every inactive
component of an active package, so a test can compare the candidates the monitor reads with
what the whole catalogue says.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, LiteralString

import psycopg
from psycopg.rows import tuple_row

from inventory.data.usage import USAGE_CTES, to_figures, window
from inventory.rules.alerts import ProductFigures

_EVERY_PRODUCT: LiteralString = (
    USAGE_CTES
    + """
SELECT p.id, p.name, p.unit, p.current_stock, p.is_active, coalesce(u.usage, 0) AS usage
FROM products p
LEFT JOIN used u ON u.product_id = p.id
WHERE p.is_active
   OR EXISTS (
       SELECT 1
       FROM package_items pi
       JOIN packages pk ON pk.id = pi.package_id
       WHERE pi.product_id = p.id AND pk.is_active
   )
ORDER BY p.name COLLATE "C", p.id
"""
)


def fetch_product_figures(
    connection: psycopg.Connection[Any], now: datetime, lookback_days: int
) -> list[ProductFigures]:
    """Every active product (and inactive component of an active package), by (name, id)."""
    with connection.cursor(row_factory=tuple_row) as cursor:
        cursor.execute(_EVERY_PRODUCT, window(now, lookback_days))
        return [to_figures(row) for row in cursor.fetchall()]
