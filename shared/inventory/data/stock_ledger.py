"""The stock ledger (migration 0010): what the API tells its trigger, a movement's statement,
and the history's pages.

The trigger on `products` writes the rows; an API statement describes its change in
transaction-local settings it sets for itself (`ledger_note`, a CTE that the statement's
UPDATE joins, so it is evaluated before any row changes and the trigger reads it after).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, LiteralString
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from inventory.rules.stock_movements import MovementKind, signed_delta

# Joined by the statement that changes stock (`FROM ..., ledger_note`): one row, so it
# multiplies nothing.
LEDGER_NOTE_CTE: LiteralString = """ledger_note AS MATERIALIZED (
    SELECT set_config('inventory.stock_kind', %(ledger_kind)s, true) AS kind,
           set_config('inventory.stock_actor', %(ledger_actor)s, true) AS actor,
           set_config('inventory.stock_reason', %(ledger_reason)s, true) AS reason,
           set_config('inventory.stock_reference', %(ledger_reference)s, true) AS reference
)"""


@dataclass(frozen=True, slots=True)
class LedgerNote:
    """What the ledger records of an API change besides the numbers."""

    kind: MovementKind
    actor: str | None
    reason: str | None
    reference_id: UUID | None

    def params(self) -> dict[str, str]:
        return {
            "ledger_kind": self.kind.value,
            "ledger_actor": self.actor or "",
            "ledger_reason": self.reason or "",
            "ledger_reference": str(self.reference_id) if self.reference_id else "",
        }


@dataclass(frozen=True, slots=True)
class Movement:
    """One ledger row."""

    id: UUID
    seq: int
    product_id: UUID
    kind: MovementKind
    quantity_delta: Decimal
    stock_after: Decimal
    reason: str | None
    actor: str | None
    reference_id: UUID | None
    created_at: datetime


COLUMNS: LiteralString = (
    "id, seq, product_id, kind, quantity_delta, stock_after, reason, actor, reference_id,"
    " created_at"
)


def to_movement(row: dict[str, Any]) -> Movement:
    return Movement(
        id=row["id"],
        seq=row["seq"],
        product_id=row["product_id"],
        kind=MovementKind(row["kind"]),
        quantity_delta=row["quantity_delta"],
        stock_after=row["stock_after"],
        reason=row["reason"],
        actor=row["actor"],
        reference_id=row["reference_id"],
        created_at=row["created_at"],
    )


def movements_of_reference(
    connection: psycopg.Connection[Any], reference_id: UUID
) -> Sequence[Movement]:
    """The rows one sale or request wrote, by product id."""
    with connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(
            "SELECT " + COLUMNS + " FROM stock_movements WHERE reference_id = %s"
            " ORDER BY product_id, seq",
            (reference_id,),
        )
        return [to_movement(row) for row in cursor.fetchall()]


_APPLY_MOVEMENT = (
    "WITH "
    + LEDGER_NOTE_CTE
    + """
UPDATE products p
SET current_stock = coalesce(%(level)s::numeric, p.current_stock + %(delta)s::numeric)
FROM ledger_note
WHERE p.id = %(product_id)s
RETURNING p.id
"""
)


def apply_movement(
    connection: psycopg.Connection[Any], product_id: UUID, quantity: Decimal, note: LedgerNote
) -> Movement | None:
    """One product's stock moved by `note.kind` (a count sets the level `quantity`; the other
    kinds add their signed amount) in one statement, whose trigger writes the ledger's row;
    that row, or None when no product has the id. `note.reference_id` must name this change
    alone. The UPDATE takes the product's row lock, so concurrent writers of the product
    apply one after the other and each row's `stock_after` is the level its change left."""
    assert note.reference_id is not None
    delta = signed_delta(note.kind, quantity)
    with connection.cursor() as cursor:
        cursor.execute(
            _APPLY_MOVEMENT,
            {
                **note.params(),
                "product_id": product_id,
                "level": quantity if delta is None else None,
                "delta": delta,
            },
        )
        if cursor.fetchone() is None:
            return None
    (movement,) = movements_of_reference(connection, note.reference_id)
    return movement


# Above any seq: the first page's bound, so that every page is the same index range scan.
NO_BOUND = 2**63 - 1

_PAGE = (
    "SELECT m.* FROM products p LEFT JOIN LATERAL ("
    " SELECT " + COLUMNS + " FROM stock_movements"
    " WHERE product_id = p.id AND seq < %(before)s ORDER BY seq DESC LIMIT %(rows)s"
    ") m ON true WHERE p.id = %(product_id)s ORDER BY m.seq DESC"
)


def fetch_page(
    connection: psycopg.Connection[Any], product_id: UUID, before_seq: int | None, limit: int
) -> tuple[list[Movement], bool] | None:
    """The product's `limit` newest rows older than `before_seq` (newest first; the
    `idx_stock_movements_product_seq` range), and whether more follow; None when no product
    has the id. One statement: an empty page of a product is told from no product."""
    with connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(
            _PAGE,
            {
                "product_id": product_id,
                "before": NO_BOUND if before_seq is None else before_seq,
                "rows": limit + 1,
            },
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    movements = [to_movement(row) for row in rows if row["id"] is not None]
    return movements[:limit], len(movements) > limit
