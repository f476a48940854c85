"""Whether a whole cart can be sold at once, summing every line's demand on shared components.

Checking packages one at a time lets three cocktails that share the last limes each pass; here
the demand of every line on each product is added up first. A package line needs
`quantity x component quantity` of each component; a product line its own quantity.

Arithmetic is exact (fractions), so 0.1 + 0.2 of a product is exactly 0.3.

Inactive things: an inactive product has no usable stock (its demand shows as a shortage);
an inactive package cannot be sold at all, so its line is rejected on its own and adds no
demand (counting it would report shortages the POS cannot fix by reducing other lines).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from uuid import UUID

from inventory.rules.availability import PackageSpec, usable_stock


@dataclass(frozen=True, slots=True)
class Stock:
    """A product as the cart sees it."""

    product_id: UUID
    product_name: str
    current_stock: Decimal
    is_active: bool = True

    @property
    def usable(self) -> Fraction:
        """What can be sold: none when inactive, never below zero when oversold."""
        return max(Fraction(0), Fraction(usable_stock(self.current_stock, self.is_active)))


@dataclass(frozen=True, slots=True)
class PackageLine:
    package_id: UUID
    quantity: int


@dataclass(frozen=True, slots=True)
class ProductLine:
    product_id: UUID
    quantity: Decimal


CartLine = PackageLine | ProductLine


class LineStatus(StrEnum):
    OK = "ok"  # the line fits, given the rest of the cart
    INSUFFICIENT_STOCK = "insufficient_stock"  # quantity > max_sellable
    INACTIVE = "inactive"  # the package or product is not for sale


@dataclass(frozen=True, slots=True)
class Shortage:
    product_id: UUID
    product_name: str
    required: Decimal
    available: Decimal  # usable stock: none when inactive, never below 0
    is_active: bool
    current_stock: Decimal  # on record, inactive or not

    @property
    def shortfall(self) -> Decimal:
        return self.required - self.available


@dataclass(frozen=True, slots=True)
class LineResult:
    line: CartLine
    name: str
    # Packages: whole packages (None: no components, so no stock limit). Products: a quantity.
    max_sellable: int | Decimal | None
    status: LineStatus


@dataclass(frozen=True, slots=True)
class CartCheck:
    valid: bool
    shortages: tuple[Shortage, ...]
    lines: tuple[LineResult, ...]


def to_decimal(value: Fraction) -> Decimal:
    """A fraction whose denominator divides a power of ten, as an exact Decimal."""
    denominator = value.denominator
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    if denominator != 1:
        raise ValueError(f"{value} has no finite decimal form")
    places = max(twos, fives)
    scaled = value * 10**places
    return Decimal(scaled.numerator).scaleb(-places)


def _line_demand(line: CartLine, packages: Mapping[UUID, PackageSpec]) -> dict[UUID, Fraction]:
    """What one line takes from each product."""
    if isinstance(line, ProductLine):
        return {line.product_id: Fraction(line.quantity)}
    spec = packages[line.package_id]
    if not spec.is_active:
        return {}
    demand: dict[UUID, Fraction] = {}
    for component in spec.components:
        demand[component.product_id] = demand.get(component.product_id, Fraction(0)) + (
            line.quantity * Fraction(component.quantity)
        )
    return demand


def _stock_table(
    packages: Mapping[UUID, PackageSpec], products: Mapping[UUID, Stock]
) -> dict[UUID, Stock]:
    """Every product the cart may touch; a product line's own read wins over a component's."""
    table = {
        c.product_id: Stock(c.product_id, c.product_name, c.current_stock, c.is_active)
        for spec in packages.values()
        for c in spec.components
    }
    table.update(products)
    return table


def _add(total: dict[UUID, Fraction], demand: Mapping[UUID, Fraction], sign: int = 1) -> None:
    for product_id, amount in demand.items():
        total[product_id] = total.get(product_id, Fraction(0)) + sign * amount


def demand_of(
    lines: Sequence[CartLine], packages: Mapping[UUID, PackageSpec]
) -> dict[UUID, Decimal]:
    """What the whole cart takes from each product, exactly, by product id (a sale deducts
    it). `packages` must hold every package line's id; inactive packages take nothing."""
    total: dict[UUID, Fraction] = {}
    for line in lines:
        _add(total, _line_demand(line, packages))
    return {product_id: to_decimal(total[product_id]) for product_id in sorted(total)}


def _max_sellable(
    line: CartLine,
    rest: Mapping[UUID, Fraction],
    packages: Mapping[UUID, PackageSpec],
    stock: Mapping[UUID, Stock],
) -> int | Decimal | None:
    """How much of this line fits in the stock the rest of the cart leaves."""

    def left(product_id: UUID) -> Fraction:
        return max(Fraction(0), stock[product_id].usable - rest.get(product_id, Fraction(0)))

    if isinstance(line, ProductLine):
        return to_decimal(left(line.product_id))
    spec = packages[line.package_id]
    if not spec.is_active:
        return 0
    if not spec.components:
        return None
    # A product listed twice in one package (not possible with the unique index) still adds up.
    per_package: dict[UUID, Fraction] = {}
    for c in spec.components:
        per_package[c.product_id] = per_package.get(c.product_id, Fraction(0)) + Fraction(
            c.quantity
        )
    return min(math.floor(left(pid) / quantity) for pid, quantity in per_package.items())


def _name_and_activity(
    line: CartLine, packages: Mapping[UUID, PackageSpec], stock: Mapping[UUID, Stock]
) -> tuple[str, bool]:
    if isinstance(line, ProductLine):
        product = stock[line.product_id]
        return product.product_name, product.is_active
    spec = packages[line.package_id]
    return spec.package_name, spec.is_active


def check_cart(
    lines: Sequence[CartLine],
    packages: Mapping[UUID, PackageSpec],
    products: Mapping[UUID, Stock],
) -> CartCheck:
    """Shortages of the whole cart and each line's max sellable given the rest of the cart.

    `packages` must hold every package line's id and `products` every product line's id.
    """
    stock = _stock_table(packages, products)
    demands = [_line_demand(line, packages) for line in lines]
    total: dict[UUID, Fraction] = {}
    for demand in demands:
        _add(total, demand)

    results = []
    for line, demand in zip(lines, demands, strict=True):
        rest = dict(total)
        _add(rest, demand, sign=-1)
        name, active = _name_and_activity(line, packages, stock)
        max_sellable = _max_sellable(line, rest, packages, stock)
        if not active:
            status = LineStatus.INACTIVE
        elif max_sellable is not None and line.quantity > max_sellable:
            status = LineStatus.INSUFFICIENT_STOCK
        else:
            status = LineStatus.OK
        results.append(LineResult(line, name, max_sellable, status))

    shortages = sorted(
        (
            Shortage(
                product_id=pid,
                product_name=stock[pid].product_name,
                required=to_decimal(required),
                available=to_decimal(stock[pid].usable),
                is_active=stock[pid].is_active,
                current_stock=stock[pid].current_stock,
            )
            for pid, required in total.items()
            if required > stock[pid].usable
        ),
        key=lambda s: (s.product_name, str(s.product_id)),
    )
    valid = not shortages and all(r.status is LineStatus.OK for r in results)
    return CartCheck(valid=valid, shortages=tuple(shortages), lines=tuple(results))
