"""Stock movements and ledger pages through the real handlers, and the ledger as stored."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg

from functions.stock_movement_create import app as stock_movement_create
from functions.stock_movements_list import app as stock_movements_list
from tests.support.events import FakeLambdaContext, http_event, with_idempotency_key


def exact_body(value: Any) -> str:
    """JSON text with every Decimal written as the number it is (json.dumps quotes them)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{exact_body(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(exact_body(item) for item in value) + "]"
    return json.dumps(value, default=str)


def move(
    context: FakeLambdaContext,
    body: Any,
    *,
    key: str | None = None,
) -> dict[str, Any]:
    """The handler's response to the movement `body` under `key` (a new key when None, none
    at all when "")."""
    event = http_event(
        "stock_movement_create.json", body=body if isinstance(body, str) else exact_body(body)
    )
    with_idempotency_key(event, key)
    response: dict[str, Any] = stock_movement_create.lambda_handler(event, context)
    return response


def ledger_page(
    context: FakeLambdaContext,
    product_id: UUID | str,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The list handler's response for the product's ledger (no query unless given)."""
    event = http_event(
        "stock_movements_list.json",
        path_parameters={"productId": str(product_id)},
        query=query or {},
        headers=headers,
    )
    if not query:
        event.pop("queryStringParameters", None)
    response: dict[str, Any] = stock_movements_list.lambda_handler(event, context)
    return response


@dataclass(frozen=True, slots=True)
class Row:
    """A stored ledger row, as the property and handler tests compare it."""

    seq: int
    product_id: UUID
    kind: str
    quantity_delta: Decimal
    stock_after: Decimal
    reason: str | None
    actor: str | None
    reference_id: UUID | None


def ledger(connection: psycopg.Connection[Any], product_id: UUID | str | None = None) -> list[Row]:
    """The ledger's rows (of one product, or all), oldest first."""
    rows = connection.execute(
        "SELECT seq, product_id, kind, quantity_delta, stock_after, reason, actor, reference_id"
        " FROM stock_movements WHERE %(product)s::uuid IS NULL OR product_id = %(product)s::uuid"
        " ORDER BY seq",
        {"product": None if product_id is None else str(product_id)},
    ).fetchall()
    return [Row(*row) for row in rows]


def stocks(connection: psycopg.Connection[Any]) -> dict[UUID, Decimal]:
    """Every product's current_stock, by id."""
    return {row[0]: row[1] for row in connection.execute("SELECT id, current_stock FROM products")}


def write_request_ids(connection: psycopg.Connection[Any]) -> list[UUID]:
    return [row[0] for row in connection.execute("SELECT id FROM write_requests ORDER BY id")]
