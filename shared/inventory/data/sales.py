"""A sale's statements (migration 0010): the rows it locks, and its write in one statement.

Deadlocks: every sale locks all the products it will change in one statement, in id order,
before changing any (`lock_products`); two carts that share products in any order then wait
for each other instead of each holding what the other needs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from inventory.data.stock_ledger import LEDGER_NOTE_CTE, LedgerNote
from inventory.rules.cart import CartLine, PackageLine, Stock


def lock_products(
    connection: psycopg.Connection[Any],
    *,
    product_ids: Collection[UUID],
    package_ids: Collection[UUID],
) -> dict[UUID, Stock]:
    """The named products and every component of the named packages, locked (FOR UPDATE) in
    id order until the transaction ends: the rows the sale may change, as they now are."""
    with connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(
            """
            SELECT p.id, p.name, p.current_stock, p.is_active
            FROM products p
            WHERE p.id = ANY(%(product_ids)s)
               OR p.id IN (SELECT product_id FROM package_items
                           WHERE package_id = ANY(%(package_ids)s))
            ORDER BY p.id
            FOR UPDATE
            """,
            {"product_ids": list(product_ids), "package_ids": list(package_ids)},
        )
        return {
            row["id"]: Stock(row["id"], row["name"], row["current_stock"], row["is_active"])
            for row in cursor.fetchall()
        }


@dataclass(frozen=True, slots=True)
class SaleRecord:
    sale_id: UUID
    order_id: UUID | None
    sold_at: datetime
    oversold: bool
    lines: Sequence[CartLine]
    deductions: Mapping[UUID, Decimal]  # by product id
    note: LedgerNote


@dataclass(frozen=True, slots=True)
class Deducted:
    product_id: UUID
    product_name: str
    stock_after: Decimal
    version: int  # the product's newest ledger seq


_RECORD_SALE = (
    "WITH "
    + LEDGER_NOTE_CTE
    + """,
sale AS (
    INSERT INTO sales (id, order_id, sold_at, actor, oversold)
    SELECT %(sale_id)s, %(order_id)s, %(sold_at)s, nullif(%(ledger_actor)s, ''), %(oversold)s
    FROM ledger_note
    RETURNING id
),
items AS (
    INSERT INTO order_items (order_id, sale_id, product_id, package_id, quantity, created_at)
    SELECT %(order_id)s, sale.id, line.product_id, line.package_id, line.quantity, %(sold_at)s
    FROM sale,
         unnest(%(line_products)s::uuid[], %(line_packages)s::uuid[],
                %(line_quantities)s::numeric[])
             WITH ORDINALITY AS line(product_id, package_id, quantity, position)
    ORDER BY line.position
)
UPDATE products p
SET current_stock = p.current_stock - d.quantity
FROM ledger_note, unnest(%(product_ids)s::uuid[], %(amounts)s::numeric[]) AS d(id, quantity)
WHERE p.id = d.id
RETURNING p.id, p.name, p.current_stock
"""
)


def record_sale(connection: psycopg.Connection[Any], sale: SaleRecord) -> list[Deducted]:
    """The sale row, its order items (one per line) and every deduction, in one statement; the
    ledger's trigger writes one `sale` movement per product. The products must be locked."""
    product_ids = list(sale.deductions)
    with connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(
            _RECORD_SALE,
            {
                **sale.note.params(),
                "sale_id": sale.sale_id,
                "order_id": sale.order_id,
                "sold_at": sale.sold_at,
                "oversold": sale.oversold,
                "line_products": [
                    None if isinstance(line, PackageLine) else line.product_id
                    for line in sale.lines
                ],
                "line_packages": [
                    line.package_id if isinstance(line, PackageLine) else None
                    for line in sale.lines
                ],
                "line_quantities": [Decimal(line.quantity) for line in sale.lines],
                "product_ids": product_ids,
                "amounts": [sale.deductions[pid] for pid in product_ids],
            },
        )
        changed = {row["id"]: row for row in cursor.fetchall()}
        cursor.execute(
            "SELECT product_id, max(seq) AS version FROM stock_movements"
            " WHERE reference_id = %s GROUP BY product_id",
            (sale.sale_id,),
        )
        versions = {row["product_id"]: row["version"] for row in cursor.fetchall()}
    return [
        Deducted(pid, changed[pid]["name"], changed[pid]["current_stock"], versions[pid])
        for pid in sorted(changed)
    ]
