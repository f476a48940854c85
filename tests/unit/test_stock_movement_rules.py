"""What a stock movement may say and what it does to a level, on plain values."""

from __future__ import annotations

import typing
import uuid
from decimal import Decimal

import pytest
from pydantic import ValidationError

from inventory.models.stock_movements import PostedKind, StockMovementRequest
from inventory.rules.stock_movements import (
    POSTABLE_KINDS,
    MovementKind,
    level_after,
    quantity_refusal,
)

PRODUCT = uuid.UUID(int=1)


def test_the_request_takes_exactly_the_postable_kinds() -> None:
    assert set(typing.get_args(PostedKind)) == {k.value for k in POSTABLE_KINDS}


@pytest.mark.parametrize(
    ("kind", "quantity", "refused"),
    [
        (MovementKind.RECEIPT, Decimal("0.001"), False),
        (MovementKind.RECEIPT, Decimal(0), True),
        (MovementKind.RECEIPT, Decimal(-1), True),
        (MovementKind.WASTE, Decimal(5), False),
        (MovementKind.WASTE, Decimal(0), True),
        (MovementKind.CORRECTION, Decimal(-3), False),
        (MovementKind.CORRECTION, Decimal("0.5"), False),
        (MovementKind.CORRECTION, Decimal("0.000"), True),
        (MovementKind.COUNT, Decimal(0), False),
        (MovementKind.COUNT, Decimal("12.5"), False),
        (MovementKind.COUNT, Decimal("-0.1"), True),
        (MovementKind.SALE, Decimal(1), True),
        (MovementKind.EXTERNAL, Decimal(1), True),
    ],
)
def test_which_quantities_each_kind_takes(
    kind: MovementKind, quantity: Decimal, refused: bool
) -> None:
    assert (quantity_refusal(kind, quantity) is not None) is refused


@pytest.mark.parametrize(
    ("kind", "quantity", "current", "after"),
    [
        (MovementKind.RECEIPT, "2.5", "-1", "1.5"),
        (MovementKind.WASTE, "3", "2", "-1"),  # below zero: stock on record may be negative
        (MovementKind.CORRECTION, "-0.25", "1", "0.75"),
        (MovementKind.COUNT, "4", "-2", "4"),
        (MovementKind.COUNT, "4", "4", "4"),
    ],
)
def test_the_level_a_movement_leaves(
    kind: MovementKind, quantity: str, current: str, after: str
) -> None:
    assert level_after(kind, Decimal(quantity), Decimal(current)) == Decimal(after)


def test_one_quantity_written_three_ways_is_one_request() -> None:
    def canonical(quantity: Decimal) -> dict[str, object]:
        request = StockMovementRequest(product_id=PRODUCT, kind="count", quantity=quantity)
        return request.canonical()

    assert canonical(Decimal(2)) == canonical(Decimal("2.0")) == canonical(Decimal("2.000"))
    assert canonical(Decimal("-0")) == canonical(Decimal(0))
    assert canonical(Decimal(100))["quantity"] == "100"  # never 1E+2
    assert canonical(Decimal(2)) != canonical(Decimal("2.000000000000001"))


@pytest.mark.parametrize(
    ("fields", "error_type"),
    [
        ({"kind": "receipt", "quantity": 0}, "movement_quantity"),
        ({"kind": "count", "quantity": -1}, "movement_quantity"),
        ({"kind": "sale", "quantity": 1}, "literal_error"),
        ({"kind": 3, "quantity": 1}, "string_type"),
        ({"kind": "receipt", "quantity": "1"}, "number_type"),
        ({"kind": "receipt", "quantity": 1, "reason": "a\x00b"}, "reason_text"),
        ({"kind": "receipt", "quantity": 1, "reason": "\t"}, "reason_text"),
    ],
)
def test_the_request_refuses(fields: dict[str, object], error_type: str) -> None:
    with pytest.raises(ValidationError) as refused:
        StockMovementRequest.model_validate({"product_id": str(PRODUCT), **fields})

    assert [e["type"] for e in refused.value.errors()] == [error_type]


def test_a_refused_kind_leaves_the_quantity_unjudged() -> None:
    with pytest.raises(ValidationError) as refused:
        StockMovementRequest.model_validate(
            {"product_id": str(PRODUCT), "kind": "sale", "quantity": -5}
        )

    assert [e["loc"] for e in refused.value.errors()] == [("kind",)]
