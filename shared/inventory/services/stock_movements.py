"""Stock movements (SPEC §11): receipts, waste, corrections and counts recorded once per
Idempotency-Key, and a product's ledger in keyset pages.

A movement is one transaction: take the request's id (`write_requests`: a retry whose first
attempt committed answers from there), change the product's stock in one statement that tells
the ledger's trigger what the change is (kind, caller, reason, request id), read back the row
the trigger wrote and store the answer. Stock may go below zero (waste of more than is on
record: SPEC §2 allows negative stock, and the shelf is what it is); a product switched off
still takes movements (stock arrives for products not yet on sale).

The ledger's pages work as the inbox's (services/inbox.py): `?limit=` and the `Link: <…>;
rel="next"` header, whose cursor names the last row seen by its `seq` (never a position), so
movements recorded while a client pages come first in its next pass and never make a row
repeat or vanish. A cursor also names its product: one from another product's ledger, or from
another list, is a 400.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

import psycopg
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import TypeAdapter

from inventory.callers import Caller
from inventory.config import get_settings
from inventory.data import availability_sql, stock_ledger
from inventory.data.db import run_on_connection
from inventory.data.stock_ledger import LedgerNote, Movement
from inventory.errors import ErrorCode, FieldProblem, InvalidRequestError, NotFoundError
from inventory.models.numbers import exact_json
from inventory.models.stock_movements import StockMovement, StockMovementRequest
from inventory.observability import logger, metrics
from inventory.rules.stock_events import PackageStatus, ProductStock, StockChanged, named
from inventory.services import cursors
from inventory.services.availability_cache import etag_of
from inventory.services.idempotent_writes import (
    IdempotentRequest,
    request_of,
    run_once,
    stock_write,
)
from inventory.services.stock_events import publish_after_commit

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

OPERATION = "stock-movement"
MAX_PAGE_SIZE = 1_000
DEFAULT_PAGE_SIZE = 100

_ITEMS = TypeAdapter(list[StockMovement])


class UnknownProductError(InvalidRequestError):
    """The body names a product that does not exist (422, as a cart's unknown ids)."""

    code = ErrorCode.UNKNOWN_ITEMS


def record(
    request: StockMovementRequest,
    *,
    caller: Caller,
    key: str,
    context: LambdaContext | None,
) -> StockMovement:
    """The movement's answer: recorded now, or the one recorded for this key before."""
    idempotent = request_of(OPERATION, caller, key, request.canonical())

    def write() -> str:
        text, event_id = run_on_connection(
            lambda connection: _record_once(connection, request, idempotent, caller)
        )
        if event_id is not None:
            publish_after_commit([event_id])  # never raises: the monitor's sweep retries
        return text

    return StockMovement.model_validate(
        json.loads(run_once(idempotent, write, context), parse_float=Decimal)
    )


def _record_once(
    connection: psycopg.Connection[Any],
    request: StockMovementRequest,
    idempotent: IdempotentRequest,
    caller: Caller,
) -> tuple[str, UUID | None]:
    """The answer's JSON text and the stock.changed event it owes (None: a replay)."""

    def write() -> tuple[StockMovement, StockChanged]:
        note = LedgerNote(
            request.movement_kind, caller.label, request.reason, idempotent.request_id
        )
        movement = stock_ledger.apply_movement(
            connection, request.product_id, request.quantity, note
        )
        if movement is None:
            raise UnknownProductError(
                f"No product has the id {request.product_id}; nothing was recorded.",
                details=[FieldProblem("body", "/product_id", "no such id")],
            )
        return to_answer(movement), _stock_changed(connection, movement)

    recorded = stock_write(connection, idempotent, write)
    if (movement := recorded.answer) is not None:
        metrics.add_metric(name="StockMovementsRecorded", unit=MetricUnit.Count, value=1)
        logger.info(
            "Stock movement recorded",
            extra={
                "movement_id": str(movement.id),
                "product_id": str(movement.product_id),
                "kind": movement.kind.value,
                "below_zero": movement.stock_after < 0,
            },
        )
    return recorded.text, recorded.event_id


def _stock_changed(connection: psycopg.Connection[Any], movement: Movement) -> StockChanged:
    """The event: the product's new level and the availability of the active packages whose
    max sellable it moved (a receipt may make them sellable again)."""
    packages = availability_sql.fetch_availability(
        connection,
        availability_sql.active_packages_changed_by({movement.product_id: movement.quantity_delta}),
        get_settings().package_low_stock_threshold,
    )
    shown, complete = named(packages)
    return StockChanged(
        event_id=uuid.uuid4(),
        cause=movement.kind.value,
        sale_id=None,
        movement_id=movement.id,
        occurred_at=movement.created_at,
        products=(ProductStock(movement.product_id, movement.stock_after, movement.seq),),
        packages=tuple(PackageStatus(p.package_id, p.max_sellable, p.status.value) for p in shown),
        packages_complete=complete,
    )


def to_answer(movement: Movement) -> StockMovement:
    return StockMovement(
        id=movement.id,
        product_id=movement.product_id,
        kind=movement.kind,
        quantity_delta=movement.quantity_delta,
        stock_after=movement.stock_after,
        reason=movement.reason,
        actor=movement.actor,
        reference_id=movement.reference_id,
        created_at=movement.created_at,
        version=movement.seq,
    )


@dataclass(frozen=True, slots=True)
class LedgerPage:
    representation: bytes  # the page's JSON list
    etag: str
    next_cursor: str | None  # None on the last page


def encode_cursor(product_id: UUID, seq: int) -> str:
    return cursors.encode(str(seq), product_id)


def decode_cursor(cursor: str, product_id: UUID) -> int:
    """The `seq` a cursor of this product's ledger names; MalformedRequestError (400) for any
    other cursor (another product's, another list's, none of ours)."""

    def read(text: object, cursor_product: UUID) -> int:
        if not isinstance(text, str) or not text.isascii() or not text.isdecimal():
            raise ValueError(text)
        seq = int(text)
        if cursor_product != product_id or seq >= stock_ledger.NO_BOUND:
            raise ValueError(cursor_product)
        return seq

    return cursors.decode(cursor, read)


def page(
    connection: psycopg.Connection[object], product_id: UUID, after: str | None, limit: int
) -> LedgerPage:
    """One page of the product's ledger, newest first, after the cursor `after`; 404 when no
    product has the id."""
    before = None if after is None else decode_cursor(after, product_id)
    found = stock_ledger.fetch_page(connection, product_id, before, limit)
    if found is None:
        raise NotFoundError(f"No product has the id {product_id}.")
    movements, more = found
    following = None
    if more and movements:
        following = encode_cursor(product_id, movements[-1].seq)
    body = exact_json(_ITEMS.dump_json([to_answer(m) for m in movements]))
    return LedgerPage(body, etag_of(body + b"\n" + (following or "").encode()), following)
