"""Stock and recent usage of every product the monitor looks at, in one statement.

Usage over [now - lookback, now] is the product's own sales plus, for every package sold in
that window, the sold quantity times the product's quantity in the package's current
composition (the schema keeps no history of compositions).

Besides the active products, inactive products that are still components of an active
package are returned (flagged) so that notifications about the packages they block can name
them; the stockout rule skips them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, LiteralString

import psycopg
from psycopg.rows import dict_row

from inventory.rules.notifications import ProductFigures

_USAGE_SQL: LiteralString = """
WITH sold AS (
    -- One pass over the window's order items, summed per package and per product first:
    -- sum(sold x quantity) = sum(sold) x quantity, exactly in numeric, so each package's
    -- composition is joined once instead of once per order item.
    SELECT oi.package_id, oi.product_id, sum(oi.quantity) AS quantity
    FROM order_items oi
    WHERE oi.created_at >= %(since)s AND oi.created_at <= %(until)s
    GROUP BY oi.package_id, oi.product_id
), per_product AS (
    SELECT product_id, quantity FROM sold WHERE product_id IS NOT NULL
    UNION ALL
    SELECT pi.product_id, s.quantity * pi.quantity
    FROM sold s
    JOIN package_items pi ON pi.package_id = s.package_id
), used AS (
    SELECT product_id, sum(quantity) AS usage FROM per_product GROUP BY product_id
)
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


def fetch_product_figures(
    connection: psycopg.Connection[Any], now: datetime, lookback_days: int
) -> list[ProductFigures]:
    """Every active product (and inactive component of an active package), by (name, id)."""
    params = {"since": now - timedelta(days=lookback_days), "until": now}
    with connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(_USAGE_SQL, params)
        return [
            ProductFigures(
                product_id=row["id"],
                product_name=row["name"],
                current_stock=row["current_stock"],
                usage=row["usage"],
                unit=row["unit"],
                is_active=row["is_active"],
            )
            for row in cursor.fetchall()
        ]
