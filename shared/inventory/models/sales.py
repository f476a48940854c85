"""A sale's request and answer (POST /api/pos/sales, SPEC §11)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from inventory.models.availability import AvailabilityItem
from inventory.models.cart import CartRequest, ShortageOut
from inventory.models.envelope import Envelope, ErrorDetail
from inventory.models.numbers import Quantity


class SaleRequest(CartRequest):
    """A cart to sell: the cart check's lines, plus where the sale belongs."""

    model_config = ConfigDict(extra="forbid")

    order_id: UUID | None = Field(
        default=None, description="The POS's order this sale belongs to (stored on each line)."
    )
    sold_at: AwareDatetime | None = Field(
        default=None,
        description="When the sale happened, with its offset (default: now). At most five "
        "minutes ahead of the server's clock.",
    )
    allow_oversell: bool | None = Field(
        default=None,
        description="True: sell even when stock is short (the drink is already poured); the "
        "stock goes negative and `oversold` says so. False: refuse a short cart. Absent: the "
        "service's ALLOW_OVERSELL setting decides.",
    )


class Deduction(BaseModel):
    product_id: UUID
    product_name: str
    quantity: Quantity = Field(description="What the sale took, summed over every line.")
    stock_after: Quantity = Field(description="current_stock after the sale; negative: oversold.")
    version: int = Field(
        description="The product's ledger position after the sale; it grows with every change "
        "of the product's stock, so the higher of two answers is the newer."
    )


class Sale(BaseModel):
    sale_id: UUID = Field(description="Stable for the Idempotency-Key: a retry answers it again.")
    order_id: UUID | None
    sold_at: datetime
    oversold: bool = Field(description="True when some product went below its usable stock.")
    deducted: list[Deduction] = Field(description="Every product the sale took from, by id.")
    packages: list[AvailabilityItem] = Field(
        description="The availability, after the sale, of every active package that uses a "
        "product the sale took from, by (name, id)."
    )


class SaleEnvelope(Envelope[Sale]):
    """A sale, recorded."""


class InsufficientStockDetail(ErrorDetail):
    shortages: list[ShortageOut] = Field(
        description="What the whole cart needs of each short product, and what there is."
    )


class InsufficientStockEnvelope(BaseModel):
    """409 insufficient_stock: nothing was sold or written."""

    success: Literal[False] = False
    error: InsufficientStockDetail
