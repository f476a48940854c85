"""How many of a package can be sold, which component limits it, and how worried to be.

Ratios are exact fractions: Python's Decimal division rounds at the context precision, which
would make ties and floors wrong for values such as 0.3 / 0.1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from uuid import UUID


def usable_stock(current_stock: Decimal, is_active: bool) -> Decimal:
    """Stock that can be sold: an inactive product counts as none (data/rule_sql.py in SQL)."""
    return current_stock if is_active else Decimal(0)


def component_ratio(current_stock: Decimal, is_active: bool, quantity: Decimal) -> Fraction:
    """How many packages a component's usable stock covers, exactly."""
    return Fraction(usable_stock(current_stock, is_active)) / Fraction(quantity)


class Status(StrEnum):
    AVAILABLE = "available"
    LOW_STOCK = "low_stock"
    UNAVAILABLE = "unavailable"
    NO_COMPONENTS = "no_components"
    # Only reported when one inactive package is asked for by id; lists skip them.
    INACTIVE = "inactive"


@dataclass(frozen=True, slots=True)
class Component:
    """One product inside a package, with the stock figures the rules need."""

    product_id: UUID
    product_name: str
    quantity: Decimal
    current_stock: Decimal
    is_active: bool = True
    par_level: Decimal | None = None

    @property
    def usable_stock(self) -> Decimal:
        return usable_stock(self.current_stock, self.is_active)

    @property
    def ratio(self) -> Fraction:
        return component_ratio(self.current_stock, self.is_active, self.quantity)


@dataclass(frozen=True, slots=True)
class PackageSpec:
    """A package and its components, as read from the catalogue."""

    package_id: UUID
    package_name: str
    components: tuple[Component, ...] = ()
    is_active: bool = True
    normal_max_sellable: int | None = None


@dataclass(frozen=True, slots=True)
class Bottleneck:
    product_id: UUID
    product_name: str
    current_stock: Decimal
    quantity_per_package: Decimal
    is_active: bool = True

    @property
    def usable_stock(self) -> Decimal:
        """The stock max_sellable came from: none for an inactive product."""
        return usable_stock(self.current_stock, self.is_active)


@dataclass(frozen=True, slots=True)
class PackageAvailability:
    package_id: UUID
    package_name: str
    max_sellable: int | None
    status: Status
    baseline: int | None
    bottleneck: Bottleneck | None
    limiting_product_ids: tuple[UUID, ...]


def floor_non_negative(value: Fraction | Decimal) -> int:
    """Whole packages that a (possibly negative) ratio allows."""
    return max(0, math.floor(value))


def classify(
    max_sellable: int | None,
    baseline: int | None,
    threshold: Decimal,
    *,
    has_components: bool,
    is_active: bool = True,
) -> Status:
    """The status word for a package, from figures computed by either path (SQL or Python)."""
    if not is_active:
        return Status.INACTIVE
    if not has_components or max_sellable is None:
        return Status.NO_COMPONENTS
    if max_sellable == 0:
        return Status.UNAVAILABLE
    if baseline is not None and max_sellable < Fraction(threshold) * baseline:
        return Status.LOW_STOCK
    return Status.AVAILABLE
