"""What a stock movement does to a product's level (SPEC §11), on plain values."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum


class MovementKind(StrEnum):
    """The ledger's kinds: how a change of `current_stock` came about."""

    SALE = "sale"  # POST /api/pos/sales
    RECEIPT = "receipt"  # a delivery received: stock up
    WASTE = "waste"  # spilt, spoilt, broken: stock down
    CORRECTION = "correction"  # a signed adjustment
    COUNT = "count"  # a physical count: sets the level, the ledger records the difference
    EXTERNAL = "external"  # written by something other than this API (the POS's SQL, psql)


# The kinds a caller may post to POST /api/inventory/stock-movements.
POSTABLE_KINDS = (
    MovementKind.RECEIPT,
    MovementKind.WASTE,
    MovementKind.CORRECTION,
    MovementKind.COUNT,
)


def signed_delta(kind: MovementKind, quantity: Decimal) -> Decimal | None:
    """The change a movement adds to the level; None for a count, which sets the level."""
    if kind is MovementKind.COUNT:
        return None
    if kind is MovementKind.RECEIPT:
        return quantity
    if kind is MovementKind.WASTE:
        return -quantity
    if kind is MovementKind.CORRECTION:
        return quantity
    raise ValueError(f"{kind} is not a movement a caller posts")


def level_after(kind: MovementKind, quantity: Decimal, current: Decimal) -> Decimal:
    """The level a movement leaves (the reference the SQL statement is tested against)."""
    delta = signed_delta(kind, quantity)
    return quantity if delta is None else current + delta


def quantity_refusal(kind: MovementKind, quantity: Decimal) -> str | None:
    """Why `quantity` cannot go with `kind` (None: it can). A receipt or waste moves a positive
    amount, a correction any amount but nothing, a count finds a level of zero or more (stock
    on record may be negative after overselling; what is on the shelf never is)."""
    if kind is MovementKind.COUNT:
        return None if quantity >= 0 else "a count finds zero or more"
    if kind is MovementKind.CORRECTION:
        return None if quantity != 0 else "a correction changes the level: not 0"
    if kind in (MovementKind.RECEIPT, MovementKind.WASTE):
        return None if quantity > 0 else f"a {kind.value} moves a positive amount"
    return f"{kind.value} is not a movement a caller posts"
