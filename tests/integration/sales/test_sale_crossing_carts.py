"""Two carts naming the same products in opposite orders, sold at the same moment 200 times,
each in a process of its own (tests/support/sale_workers.py): the sale locks every product
in one order (by id) whatever the cart's, so one may wait for the other, never each for the
other: no deadlock, seen by the handler (a 503) or by the server (pg_stat_database)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from inventory.rules.availability import Component
from tests.support.catalog import component, insert_catalog, package
from tests.support.pos_sales import counts, ledger_sum, stock
from tests.support.sale_workers import Sale, sold_together

# Six products each cart names: one in this order, the other in reverse.
SHARED = [
    component(name, quantity, 1000)
    for name, quantity in [
        ("Lemons", "0.25"),
        ("Sugar syrup", "0.5"),
        ("Mint", "0.1"),
        ("Soda", "0.2"),
        ("Ice", "1"),
        ("Limes", "0.75"),
    ]
]
PAIRS = 200


@pytest.fixture
def crossing(db: psycopg.Connection[Any], idempotency_table: str) -> psycopg.Connection[Any]:
    insert_catalog(db, [package("Lemonade", SHARED)])
    return db


def cart(*components: Component) -> dict[str, Any]:
    return {
        "items": [
            {"product_id": str(c.product_id), "quantity": float(c.quantity)} for c in components
        ]
    }


@pytest.mark.slow
def test_two_carts_naming_shared_products_in_opposite_orders_never_deadlock(
    crossing: psycopg.Connection[Any],
) -> None:
    turns = [
        [Sale(cart(*SHARED), key=f"forward-{n}") for n in range(PAIRS)],
        [Sale(cart(*reversed(SHARED)), key=f"backward-{n}") for n in range(PAIRS)],
    ]

    answers, deadlocked = sold_together(crossing, turns)

    assert [a.body for a in answers if a.status != 201] == []
    assert deadlocked == 0
    for product in SHARED:
        sold = 2 * PAIRS * product.quantity
        assert stock(crossing, product.product_id) == product.current_stock - sold
        assert ledger_sum(crossing, product.product_id) == stock(crossing, product.product_id)
    # Each sale: its row, an order line per cart line, a movement per product.
    lines = len(SHARED)
    assert counts(crossing) == (2 * PAIRS, 2 * PAIRS * lines, 2 * PAIRS * lines)
