"""Synthetic catalogues for `make bench`, generated inside PostgreSQL (generate_series).

Nothing is built row by row in Python: a 100,000-package catalogue (25,000 products, about
400,000 package items, 1,000,000 order items) is a handful of INSERT ... SELECT statements.
Ids are md5-derived from an index, so package_items and order_items reach their products and
packages without a join, and `setseed` makes every run generate the same catalogue.

Shape (per N active packages):
- products = N / 4, each with a unit, a par level for 90% of them, and a stock that is out
  (about 0.6%), oversold (0.2%), low (3%, under 12% of par) or normal (30%..160% of par),
  with two decimals for a fifth of them; 0.5% are inactive;
- packages: N active plus N / 50 inactive ones; 2 to 6 distinct components (4 on average) with
  quantities 1, 2, 3, 0.5, 0.25 or 1.5; a fifth carry an explicit normal_max_sellable;
- order items: 10 x N over the last 28 days, three quarters package sales (1..3), a quarter
  product sales (whole or decimal quantities), three items per order.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, LiteralString

import psycopg

COMPONENT_QUANTITIES = "ARRAY[1, 2, 3, 0.5, 0.25, 1.5]::numeric[]"

_PRODUCTS: LiteralString = """
INSERT INTO products (id, name, sku, unit, current_stock, par_level, is_active)
SELECT md5('bench-product-' || g.i)::uuid,
       'Product ' || lpad(g.i::text, 6, '0'),
       'BENCH-' || g.i,
       (ARRAY['unit', 'bottle', 'ml', 'kg', 'portion'])[1 + g.i %% 5],
       CASE
           WHEN g.u < 0.006 THEN 0
           WHEN g.u < 0.008 THEN -(1 + floor(g.v * 5))
           WHEN g.u < 0.04 THEN round(g.par * (0.01 + g.v * 0.11)::numeric, g.places)
           ELSE round(g.par * (0.3 + g.v * 1.3)::numeric, g.places)
       END,
       CASE WHEN g.i %% 10 = 0 THEN NULL ELSE g.par END,
       g.i %% 200 <> 42
FROM (
    SELECT i, random() AS u, random() AS v, round((200 + random() * 1000)::numeric) AS par,
           CASE WHEN i %% 5 = 3 THEN 2 ELSE 0 END AS places
    FROM generate_series(1, %(products)s) AS i
) AS g
"""

_PACKAGES: LiteralString = """
INSERT INTO packages (id, name, price, is_active, normal_max_sellable)
SELECT md5('bench-package-' || g.i)::uuid,
       'Package ' || lpad(g.i::text, 7, '0'),
       round((3 + random() * 40)::numeric, 2),
       g.i <= %(packages)s,
       CASE WHEN g.i %% 5 = 0 THEN 20 + (g.i * 7) %% 80 END
FROM generate_series(1, %(packages)s + %(packages)s / 50) AS g(i)
"""

# Component c of package j is product 1 + (j * 7919 + c * stride) mod P: with c < 6 and
# stride = P / 6, the offsets c * stride are distinct modulo P, so no product repeats.
_PACKAGE_ITEMS: LiteralString = (
    """
INSERT INTO package_items (package_id, product_id, quantity)
SELECT md5('bench-package-' || g.j)::uuid,
       md5('bench-product-' || (1 + (g.j::bigint * 7919 + c.c * %(stride)s) %% %(products)s))::uuid,
       ("""
    + COMPONENT_QUANTITIES
    + """)[1 + (g.j * 31 + c.c * 17) %% 6]
FROM generate_series(1, %(packages)s + %(packages)s / 50) AS g(j)
CROSS JOIN LATERAL generate_series(0, 1 + g.j %% 5) AS c(c)
"""
)

_ORDER_ITEMS: LiteralString = """
INSERT INTO order_items (order_id, product_id, package_id, quantity, created_at)
SELECT md5('bench-order-' || (r.i / 3))::uuid,
       CASE WHEN r.kind >= 0.75
            THEN md5('bench-product-' || (1 + floor(r.pick * %(products)s)::int))::uuid END,
       CASE WHEN r.kind < 0.75
            THEN md5('bench-package-' || (1 + floor(r.pick * %(packages)s)::int))::uuid END,
       CASE
           WHEN r.kind < 0.75 THEN 1 + floor(r.qty * 3)
           WHEN r.qty < 0.3 THEN (ARRAY[0.5, 0.75, 1.25])[1 + floor(r.qty * 10)::int]
           ELSE 1 + floor(r.qty * 4)
       END,
       %(now)s - r.age * interval '28 days'
FROM (
    SELECT i, random() AS kind, random() AS pick, random() AS qty, random() AS age
    FROM generate_series(1, %(order_items)s) AS i
) AS r
"""

TABLES = (
    "notification_episodes",
    "notification_subscriptions",
    "notifications",
    "order_items",
    "package_items",
    "packages",
    "products",
)


@dataclass(frozen=True, slots=True)
class CatalogueSize:
    packages: int

    @property
    def products(self) -> int:
        return max(self.packages // 4, 6)

    @property
    def order_items(self) -> int:
        return 10 * self.packages


def bench_id(kind: str, index: int) -> uuid.UUID:
    """The id this module gives the index-th package or product (md5(...)::uuid)."""
    digest = hashlib.md5(f"bench-{kind}-{index}".encode(), usedforsecurity=False).hexdigest()
    return uuid.UUID(digest)


def generate_catalogue(
    connection: psycopg.Connection[Any], size: CatalogueSize, now: datetime
) -> dict[str, int]:
    """Replace the database's rows by a synthetic catalogue; returns the row counts."""
    params = {
        "packages": size.packages,
        "products": size.products,
        "stride": size.products // 6,
        "order_items": size.order_items,
        "now": now,
    }
    with connection.transaction():
        connection.execute("TRUNCATE " + ", ".join(TABLES) + " RESTART IDENTITY CASCADE")
        connection.execute("SELECT setseed(0.4242)")
        connection.execute(_PRODUCTS, params)
        connection.execute(_PACKAGES, params)
        connection.execute(_PACKAGE_ITEMS, params)
        connection.execute(_ORDER_ITEMS, params)
    # Statistics and the visibility map, as autovacuum would leave a live database.
    connection.execute("VACUUM ANALYZE")
    counts: dict[str, int] = {}
    for table in TABLES:
        row = connection.execute("SELECT count(*) FROM " + table).fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts
