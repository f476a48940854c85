"""Availability as the API shows it (SPEC §6)."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from inventory.models.envelope import Envelope
from inventory.models.numbers import Quantity
from inventory.rules.availability import PackageAvailability, Status


class BottleneckOut(BaseModel):
    product_id: UUID
    product_name: str
    is_active: bool = Field(
        description="False: the product is switched off, so none of its "
        "stock can be sold (usable_stock is 0)."
    )
    current_stock: Quantity = Field(description="Stock on record, inactive or not.")
    usable_stock: Quantity = Field(
        description="The stock max_sellable came from: current_stock, or 0 when inactive."
    )
    quantity_per_package: Quantity


class AvailabilityItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    package_id: UUID
    package_name: str
    max_sellable: int | None = Field(
        description="Whole packages sellable now; null without components."
    )
    status: Status
    baseline: int | None = Field(description="Normal max sellable: explicit, or from par levels.")
    bottleneck: BottleneckOut | None
    limiting_product_ids: list[UUID] = Field(
        description="Every component whose stock ratio is the minimum, ordered by (name, id)."
    )

    @classmethod
    def of(cls, availability: PackageAvailability) -> AvailabilityItem:
        b = availability.bottleneck
        return cls(
            package_id=availability.package_id,
            package_name=availability.package_name,
            max_sellable=availability.max_sellable,
            status=availability.status,
            baseline=availability.baseline,
            bottleneck=(
                BottleneckOut(
                    product_id=b.product_id,
                    product_name=b.product_name,
                    is_active=b.is_active,
                    current_stock=b.current_stock,
                    usable_stock=b.usable_stock,
                    quantity_per_package=b.quantity_per_package,
                )
                if b
                else None
            ),
            limiting_product_ids=list(availability.limiting_product_ids),
        )


class ProductOut(BaseModel):
    id: UUID
    name: str
    sku: str | None
    unit: str
    current_stock: Quantity = Field(description="Stock on record, inactive or not.")
    usable_stock: Quantity = Field(
        description="The stock its packages' max_sellable come from: current_stock, or 0 when "
        "inactive."
    )
    par_level: Quantity | None
    is_active: bool


class PackageUsage(BaseModel):
    package_id: UUID
    package_name: str
    is_active: bool
    quantity_per_package: Quantity
    max_sellable: int | None
    status: Status
    is_limiting: bool = Field(description="True when this product is one of the package's limits.")


class PackageImpact(BaseModel):
    product: ProductOut
    packages: list[PackageUsage]


# The route's answer under its own name, not `Envelope_X_`: the OpenAPI schema's name and a
# generated client's class (one module per route's models, so a function imports only its own).
class PackageAvailabilityEnvelope(Envelope[AvailabilityItem]):
    """One package's availability."""


class PackageAvailabilityListEnvelope(Envelope[list[AvailabilityItem]]):
    """Active packages' availability, by (name, id): the whole list or one page."""


class PackageImpactEnvelope(Envelope[PackageImpact]):
    """A product and the packages that use it."""
