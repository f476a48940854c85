"""The cart check's request and answer (POST /api/pos/cart/validate, SPEC §6)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from inventory.models.envelope import Envelope
from inventory.models.numbers import Quantity
from inventory.rules.cart import (
    CartCheck,
    CartLine,
    LineResult,
    LineStatus,
    PackageLine,
    ProductLine,
    Shortage,
)

MAX_LINES = 200
MAX_PACKAGE_QUANTITY = 10_000
MAX_PRODUCT_QUANTITY = Decimal(1_000_000)
# Exact to this many places: 200 lines of the largest amount sum to 24 digits, inside
# Decimal's 28-digit context, so no sum the cart check makes is ever rounded.
PRODUCT_DECIMAL_PLACES = 15


def json_number_only(value: Any) -> Any:
    # Lax validation would read "2" or true as numbers; the contract says a JSON number.
    if isinstance(value, bool | str | bytes):
        raise PydanticCustomError("number_type", "Input should be a JSON number")
    return value


PackageCount = Annotated[
    int,
    Field(gt=0, le=MAX_PACKAGE_QUANTITY, description="Whole packages."),
    BeforeValidator(json_number_only),
]
ProductAmount = Annotated[
    Decimal,
    Field(
        gt=0,
        le=MAX_PRODUCT_QUANTITY,
        allow_inf_nan=False,
        decimal_places=PRODUCT_DECIMAL_PLACES,
    ),
    BeforeValidator(json_number_only),
    WithJsonSchema(
        {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": int(MAX_PRODUCT_QUANTITY),
            "description": "Amount in the product's unit, read exactly as written: up to "
            f"{PRODUCT_DECIMAL_PLACES} decimal places (more is a 422, never rounded).",
        }
    ),
]


class PackageLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="PackageLine")

    package_id: UUID
    quantity: PackageCount

    def to_rule(self) -> PackageLine:
        return PackageLine(self.package_id, self.quantity)


class ProductLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="ProductLine")

    product_id: UUID
    quantity: ProductAmount

    def to_rule(self) -> ProductLine:
        return ProductLine(self.product_id, self.quantity)


def _line_kind(value: Any) -> str | None:
    """Which line shape a JSON object is, by its id key (a line with both fails `extra`)."""
    if isinstance(value, dict):
        if "package_id" in value:
            return "package"
        if "product_id" in value:
            return "product"
        return None
    return "package" if isinstance(value, PackageLineIn) else "product"


CartLineIn = Annotated[
    Annotated[PackageLineIn, Tag("package")] | Annotated[ProductLineIn, Tag("product")],
    Discriminator(
        _line_kind,
        custom_error_type="cart_line",
        custom_error_message="Each line needs exactly one of package_id or product_id.",
    ),
]


class CartRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[CartLineIn] = Field(min_length=1, max_length=MAX_LINES)

    def lines(self) -> list[CartLine]:
        return [item.to_rule() for item in self.items]


class ShortageOut(BaseModel):
    product_id: UUID
    product_name: str
    required: Quantity = Field(description="What the whole cart needs of this product.")
    available: Quantity = Field(description="Usable stock (0 when inactive or oversold).")
    shortfall: Quantity = Field(description="required - available.")
    is_active: bool = Field(
        description="False: the product is switched off, so none of its stock is available."
    )
    current_stock: Quantity = Field(description="Stock on record, inactive or not.")

    @classmethod
    def of(cls, shortage: Shortage) -> ShortageOut:
        return cls(
            product_id=shortage.product_id,
            product_name=shortage.product_name,
            required=shortage.required,
            available=shortage.available,
            shortfall=shortage.shortfall,
            is_active=shortage.is_active,
            current_stock=shortage.current_stock,
        )


class PackageLineOut(BaseModel):
    package_id: UUID
    package_name: str
    quantity: int
    max_sellable: int | None = Field(
        description="Packages this line could sell given the rest of the cart; null: no limit "
        "(the package has no components)."
    )
    status: LineStatus


class ProductLineOut(BaseModel):
    product_id: UUID
    product_name: str
    quantity: Quantity
    max_sellable: Quantity = Field(
        description="Amount this line could sell given the rest of the cart."
    )
    status: LineStatus


def _line_out(result: LineResult) -> PackageLineOut | ProductLineOut:
    line = result.line
    if isinstance(line, PackageLine):
        assert not isinstance(result.max_sellable, Decimal)  # the rules give packages whole numbers
        return PackageLineOut(
            package_id=line.package_id,
            package_name=result.name,
            quantity=line.quantity,
            max_sellable=result.max_sellable,
            status=result.status,
        )
    return ProductLineOut(
        product_id=line.product_id,
        product_name=result.name,
        quantity=line.quantity,
        max_sellable=Decimal(result.max_sellable or 0),
        status=result.status,
    )


class CartValidation(BaseModel):
    valid: bool = Field(description="True when the whole cart can be sold at once.")
    shortages: list[ShortageOut] = Field(description="Products the cart needs more of, by name.")
    items: list[PackageLineOut | ProductLineOut] = Field(description="The lines, in order.")

    @classmethod
    def of(cls, check: CartCheck) -> CartValidation:
        return cls(
            valid=check.valid,
            shortages=[ShortageOut.of(s) for s in check.shortages],
            items=[_line_out(r) for r in check.lines],
        )


# The route's answer under its own name, not `Envelope_X_`: the OpenAPI schema's name and a
# generated client's class (one module per route's models, so a function imports only its own).
class CartValidationEnvelope(Envelope[CartValidation]):
    """Whether a whole cart can be sold at once."""
