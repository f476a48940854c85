"""A stock movement's request and the ledger's rows as the API shows them (SPEC §11)."""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from inventory.models.cart import MAX_PRODUCT_QUANTITY, PRODUCT_DECIMAL_PLACES, json_number_only
from inventory.models.envelope import Envelope
from inventory.models.inbox import Instant
from inventory.models.numbers import Quantity
from inventory.rules.stock_movements import MovementKind, quantity_refusal

MAX_REASON_LENGTH = 500

# The kinds a caller posts (rules/stock_movements.POSTABLE_KINDS): `sale` is the sale route's,
# `external` what the database records of writers other than this API.
PostedKind = Literal["receipt", "waste", "correction", "count"]


def _text_only(value: Any) -> Any:
    # A number or null where a kind goes is the wrong shape (400), not a kind refused (422).
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "Input should be a string")
    return value


MovementQuantity = Annotated[
    Decimal,
    Field(
        ge=-MAX_PRODUCT_QUANTITY,
        le=MAX_PRODUCT_QUANTITY,
        allow_inf_nan=False,
        decimal_places=PRODUCT_DECIMAL_PLACES,
    ),
    BeforeValidator(json_number_only),
    WithJsonSchema(
        {
            "type": "number",
            "minimum": -int(MAX_PRODUCT_QUANTITY),
            "maximum": int(MAX_PRODUCT_QUANTITY),
            "description": "In the product's unit, read exactly as written: up to "
            f"{PRODUCT_DECIMAL_PLACES} decimal places (more is a 422, never rounded). "
            "`receipt` and `waste`: the amount moved, > 0. `correction`: the change, signed, "
            "not 0. `count`: the level counted, >= 0 (the ledger records the difference).",
        }
    ),
]


def _printable(value: str) -> str:
    # Control characters would forge lines in logs and exports; a lone surrogate is no text
    # PostgreSQL can store.
    if any(unicodedata.category(character) in ("Cc", "Cs") for character in value):
        raise PydanticCustomError("reason_text", "The reason may not hold control characters")
    if not value.strip():
        raise PydanticCustomError("reason_text", "The reason may not be blank; leave it out")
    return value


Reason = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_REASON_LENGTH,
        description=f"Why, for the people reading the ledger (1 to {MAX_REASON_LENGTH} "
        "characters, no control characters): `delivery note 4711`, `dropped a crate`.",
    ),
    AfterValidator(_printable),
]


class StockMovementRequest(BaseModel):
    """A change of one product's stock: received, wasted, corrected or counted."""

    model_config = ConfigDict(extra="forbid")

    product_id: UUID = Field(description="The product whose stock moves (active or not).")
    kind: Annotated[PostedKind, BeforeValidator(_text_only)] = Field(
        description="`receipt`: stock came in; `waste`: stock was lost (it may go below zero, "
        "as stock on record may); `correction`: a signed adjustment; `count`: a physical count "
        "sets the level."
    )
    quantity: MovementQuantity
    reason: Reason | None = None

    @field_validator("quantity")
    @classmethod
    def _fits_the_kind(cls, quantity: Decimal, info: ValidationInfo) -> Decimal:
        kind = info.data.get("kind")  # absent when the kind itself was refused
        if kind is not None and (problem := quantity_refusal(MovementKind(kind), quantity)):
            raise PydanticCustomError("movement_quantity", problem)
        return quantity

    @property
    def movement_kind(self) -> MovementKind:
        return MovementKind(self.kind)

    def canonical(self) -> dict[str, Any]:
        """The request as idempotency compares it: 2, 2.0 and 2.00 are one quantity."""
        quantity = (self.quantity + 0).normalize()  # + 0: -0 is 0
        return {
            "product_id": str(self.product_id),
            "kind": self.kind,
            "quantity": format(quantity, "f"),
            "reason": self.reason,
        }


class StockMovement(BaseModel):
    """One row of a product's stock ledger."""

    id: UUID
    product_id: UUID
    kind: MovementKind = Field(
        description="How the change came about: `sale` (POST /api/pos/sales), `receipt`, "
        "`waste`, `correction`, `count` (POST /api/inventory/stock-movements), or `external` "
        "(written to the database by something other than this API)."
    )
    quantity_delta: Quantity = Field(
        description="What the change added to current_stock (negative: taken); 0 for a count "
        "that found the level on record."
    )
    stock_after: Quantity = Field(description="current_stock after the change.")
    reason: str | None
    actor: str | None = Field(
        description="Who: the API caller's client id (else its subject), or `db:<user>` for "
        "an external write."
    )
    reference_id: UUID | None = Field(
        description="The sale's id (`sale`), the movement request's id (the other API kinds; "
        "stable for its Idempotency-Key), null for an external write."
    )
    created_at: Instant
    version: int = Field(
        description="The product's ledger position: it grows with every change of the "
        "product's stock, in commit order, so of two rows the higher is the newer."
    )


class StockMovementEnvelope(Envelope[StockMovement]):
    """A stock movement, recorded."""


class StockMovementListEnvelope(Envelope[list[StockMovement]]):
    """A page of a product's stock ledger, newest first."""
