"""Stock and recent usage of every product the monitor looks at, in one statement.

Usage over [now - lookback, now] is the product's own sales plus, for every package sold in
that window, the sold quantity times the product's quantity in the package's current
composition (the schema keeps no history of compositions). Runs read most of it from the
usage base (usage_base.py, migration 0004) and only the order items outside its span.

The monitor reads only the rows the stockout rule can use (products that run out within the
prediction window) plus the count of active products, so a large catalogue costs a few hundred
rows instead of every product. What package alerts say about the products they name comes with
the problem packages (availability_sql), so this statement does not wait for that one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, LiteralString

import psycopg
from psycopg.rows import tuple_row

from inventory.rules.alerts import ProductFigures

# Each statement sums its order items per (package, product) first: sum(sold x quantity) =
# sum(sold) x quantity, exactly in numeric, so each package's composition is joined once
# instead of once per order item.
_SOLD: LiteralString = """
sold AS (
    SELECT package_id, product_id, sum(quantity) AS quantity
    FROM items
    GROUP BY package_id, product_id
), per_product AS (
    SELECT product_id, quantity FROM sold WHERE product_id IS NOT NULL
    UNION ALL
    SELECT pi.product_id, s.quantity * pi.quantity
    FROM sold s
"""
# Every package sold in a whole window or span: one hash join over package_items.
_JOIN_ALL_ITEMS: LiteralString = """
    JOIN package_items pi ON pi.package_id = s.package_id
"""
# With a base, the few thousand packages sold outside its span: each one's items by index,
# where a hash join would read all of package_items (OFFSET 0 keeps the planner from
# flattening the subquery into that join).
_JOIN_ITEMS_BY_INDEX: LiteralString = """
    CROSS JOIN LATERAL (
        SELECT i.product_id, i.quantity FROM package_items i
        WHERE i.package_id = s.package_id OFFSET 0
    ) AS pi
"""

# Usage over [lo, hi): what usage_base.build stores.
USED_IN_SPAN: LiteralString = (
    """
WITH items AS (
    SELECT package_id, product_id, quantity
    FROM order_items
    WHERE created_at >= %(lo)s AND created_at < %(hi)s
),"""
    + _SOLD
    + _JOIN_ALL_ITEMS
    + """)
SELECT product_id, sum(quantity) FROM per_product GROUP BY product_id
"""
)

# Usage over the window [since, until]. With a usage base that still counts (usage_base.py)
# and whose span ends inside the window, the base's totals plus the order items the window
# has and the span lacks ([since, lo) and [hi, until]) less those the span has and the window
# lacks ([lo, since)): a few percent of the window's rows. Otherwise every row of the window.
USAGE_CTES: LiteralString = (
    """
WITH counting AS (
    -- The base, if nothing it summed has changed since it was built.
    SELECT b.lo, b.hi, b.built_at
    FROM usage_base b
    JOIN usage_base_state s ON s.changes = b.changes
), base AS (
    SELECT lo, hi FROM counting WHERE hi >= %(since)s AND hi <= %(until)s
), items AS (
    SELECT oi.package_id, oi.product_id, oi.quantity
    FROM order_items oi
    WHERE NOT EXISTS (SELECT FROM base)
      AND oi.created_at >= %(since)s AND oi.created_at <= %(until)s
    UNION ALL
    SELECT oi.package_id, oi.product_id,
           CASE WHEN b.lo > %(since)s THEN oi.quantity ELSE -oi.quantity END
    FROM base b
    JOIN order_items oi
      ON oi.created_at >= least(b.lo, %(since)s) AND oi.created_at < greatest(b.lo, %(since)s)
    UNION ALL
    SELECT oi.package_id, oi.product_id, oi.quantity
    FROM base b
    JOIN order_items oi ON oi.created_at >= b.hi AND oi.created_at <= %(until)s
),"""
    + _SOLD
    + _JOIN_ITEMS_BY_INDEX
    + """
    UNION ALL
    SELECT product_id, usage FROM usage_base_products WHERE EXISTS (SELECT FROM base)
), used AS (
    SELECT product_id, sum(quantity) AS usage FROM per_product GROUP BY product_id
)
"""
)

# Days until stockout = stock x lookback / usage < prediction days, multiplied out so that
# numeric decides it exactly (usage > 0). rules.alerts re-checks every row it gets. Products
# already out (stock <= 0) come too when used lately or when their predicted stockout's episode
# is open (its sales stopped with the stock): no prediction for them, but that episode goes on
# while they stay out (rules/episodes.py). One index probe per product out of stock.
_CANDIDATES_SQL: LiteralString = (
    USAGE_CTES
    + """
SELECT counted.active, (SELECT built_at FROM counting),
       f.id, f.name, f.unit, f.current_stock, f.is_active, f.usage
FROM (SELECT count(*) FROM products WHERE is_active) AS counted(active)
LEFT JOIN (
    SELECT p.id, p.name, p.unit, p.current_stock, p.is_active, coalesce(u.usage, 0) AS usage
    FROM products p
    LEFT JOIN used u ON u.product_id = p.id
    WHERE p.is_active AND (
        (u.usage > 0 AND p.current_stock * %(lookback_days)s < %(prediction_days)s * u.usage)
        OR (p.current_stock <= 0 AND EXISTS (
            SELECT FROM notification_episodes e
            WHERE e.type = 'stockout_predicted' AND e.reference_id = p.id
              AND e.resolved_at IS NULL)))
) AS f ON true
ORDER BY f.name COLLATE "C", f.id
"""
)


def window(now: datetime, lookback_days: int) -> dict[str, Any]:
    return {"since": now - timedelta(days=lookback_days), "until": now}


def to_figures(row: Sequence[Any]) -> ProductFigures:
    product_id, name, unit, current_stock, is_active, usage = row
    return ProductFigures(
        product_id=product_id,
        product_name=name,
        current_stock=current_stock,
        usage=usage,
        unit=unit,
        is_active=is_active,
    )


@dataclass(frozen=True, slots=True)
class StockoutCandidates:
    """Products that may run out within the prediction window, by (name, id); and how many
    active products were checked."""

    products_checked: int
    products: list[ProductFigures]
    # When the usage base was built, if nothing it summed has changed since (None: no base,
    # or one that no longer counts); the monitor rebuilds it when it is missing or old.
    usage_base_built_at: datetime | None = None


def fetch_stockout_candidates(
    connection: psycopg.Connection[Any],
    now: datetime,
    *,
    lookback_days: int,
    prediction_days: Decimal,
) -> StockoutCandidates:
    """Active products whose stock lasts under `prediction_days` at their recent usage."""
    params = {
        **window(now, lookback_days),
        "lookback_days": lookback_days,
        "prediction_days": prediction_days,
    }
    with connection.cursor(row_factory=tuple_row) as cursor:
        cursor.execute(_CANDIDATES_SQL, params)
        rows = cursor.fetchall()
    return StockoutCandidates(
        products_checked=int(rows[0][0]) if rows else 0,
        products=[to_figures(row[2:]) for row in rows if row[2] is not None],
        usage_base_built_at=rows[0][1] if rows else None,
    )
