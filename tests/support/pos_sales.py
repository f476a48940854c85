"""Sales through the real POST /api/pos/sales handler, and what they leave in PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg

from functions.pos_sale import app as pos_sale
from tests.support.events import FakeLambdaContext, http_event, response_json, with_idempotency_key


def sell(
    context: FakeLambdaContext,
    body: Any,
    *,
    key: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The handler's response to a sale of `body` under `key` (a new key when None)."""
    event = http_event("pos_sale.json", body=body, headers=headers)
    with_idempotency_key(event, key)
    response: dict[str, Any] = pos_sale.lambda_handler(event, context)
    return response


def answer(response: dict[str, Any]) -> Any:
    return response_json(response)


def stock(connection: psycopg.Connection[Any], product_id: Any) -> Decimal:
    row = connection.execute(
        "SELECT current_stock FROM products WHERE id = %s", (product_id,)
    ).fetchone()
    assert row is not None
    return Decimal(row[0])


def ledger_sum(connection: psycopg.Connection[Any], product_id: Any) -> Decimal:
    row = connection.execute(
        "SELECT coalesce(sum(quantity_delta), 0) FROM stock_movements WHERE product_id = %s",
        (product_id,),
    ).fetchone()
    assert row is not None
    return Decimal(row[0])


def counts(connection: psycopg.Connection[Any]) -> tuple[int, int, int]:
    """(sales, order items of sales, sale movements)."""
    row = connection.execute(
        "SELECT (SELECT count(*) FROM sales),"
        " (SELECT count(*) FROM order_items WHERE sale_id IS NOT NULL),"
        " (SELECT count(*) FROM stock_movements WHERE kind = 'sale')"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])
