"""A sale's request and answer (POST /api/pos/sales, SPEC §11)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from inventory.models.availability import AvailabilityItem
from inventory.models.cart import CartRequest, PackageLineIn, ShortageOut
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

    def canonical(self) -> dict[str, Any]:
        """The request as idempotency compares it: 2, 2.0 and 2.00 are one quantity, and one
        instant written with two offsets is one `sold_at`."""
        items: list[dict[str, Any]] = [
            {"package_id": str(item.package_id), "quantity": item.quantity}
            if isinstance(item, PackageLineIn)
            else {
                "product_id": str(item.product_id),
                "quantity": format((item.quantity + 0).normalize(), "f"),  # + 0: -0 is 0
            }
            for item in self.items
        ]
        return {
            "items": items,
            "order_id": None if self.order_id is None else str(self.order_id),
            "sold_at": None if self.sold_at is None else self.sold_at.astimezone(UTC).isoformat(),
            "allow_oversell": self.allow_oversell,
        }


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
        description="The availability, after the sale, of every active package whose "
        "max_sellable the sale changed (and so possibly its status), by (name, id). The "
        "products' new stock is in `deducted`. None when more than 400 moved "
        "(`packages_complete` false): read the availability routes then."
    )
    packages_complete: bool = Field(
        description="False: the sale moved more packages than an answer names (400), so "
        "`packages` is empty."
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
