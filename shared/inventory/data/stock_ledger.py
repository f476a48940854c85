"""The stock ledger (migration 0010): what the API tells its trigger, and the history's pages.

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

from inventory.rules.stock_movements import MovementKind

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
