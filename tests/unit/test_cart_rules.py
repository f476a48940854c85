"""The cart rules on plain values: shared components, exact decimals, inactivity, boundaries."""

from __future__ import annotations

import uuid
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.rules.availability import PackageSpec
from inventory.rules.cart import (
    CartCheck,
    CartLine,
    LineStatus,
    PackageLine,
    ProductLine,
    Stock,
    check_cart,
    to_decimal,
)
from tests.support.catalog import component, package

RUM = component("White rum", 50, 2100)
LIME = component("Limes", "0.5", 9)
MOJITO = package("Mojito", [RUM, LIME])
CUBA_LIBRE = package(
    "Cuba Libre", [component("White rum", 50, 2100), component("Limes", "0.25", 9)]
)
PACKAGES = {p.package_id: p for p in (MOJITO, CUBA_LIBRE)}


def stock_of(name: str, amount: str | int, *, active: bool = True) -> Stock:
    c = component(name, 1, amount, active=active)
    return Stock(c.product_id, c.product_name, c.current_stock, c.is_active)


def test_lines_that_each_fit_alone_fail_together_on_a_shared_component() -> None:
    # 9 limes: 12 Mojitos need 6, 13 Cuba Libres need 3.25; together 9.25.
    lines: list[CartLine] = [
        PackageLine(MOJITO.package_id, 12),
        PackageLine(CUBA_LIBRE.package_id, 13),
    ]
    result = check_cart(lines, PACKAGES, {})
    assert not result.valid
    assert [(s.product_name, s.required, s.available, s.shortfall) for s in result.shortages] == [
        ("Limes", Decimal("9.25"), Decimal(9), Decimal("0.25"))
    ]
    # Given 13 Cuba Libres (3.25 limes), 5.75 limes are left: 11 Mojitos.
    # Given 12 Mojitos (6 limes), 3 are left: 12 Cuba Libres.
    assert [(r.max_sellable, r.status) for r in result.lines] == [
        (11, LineStatus.INSUFFICIENT_STOCK),
        (12, LineStatus.INSUFFICIENT_STOCK),
    ]


def test_demand_exactly_equal_to_stock_is_valid() -> None:
    # 14 Mojitos need 7 limes and 700 ml of rum; 8 Cuba Libres need 2 limes and 400 ml.
    lines: list[CartLine] = [
        PackageLine(MOJITO.package_id, 14),
        PackageLine(CUBA_LIBRE.package_id, 8),
    ]
    result = check_cart(lines, PACKAGES, {})
    assert result.valid
    assert result.shortages == ()
    assert [r.max_sellable for r in result.lines] == [14, 8]


def test_decimal_quantities_add_up_exactly() -> None:
    lager = stock_of("Lager on tap", "0.3")
    lines: list[CartLine] = [
        ProductLine(lager.product_id, Decimal("0.1")),
        ProductLine(lager.product_id, Decimal("0.2")),
    ]
    result = check_cart(lines, {}, {lager.product_id: lager})
    assert result.valid  # 0.1 + 0.2 is exactly 0.3, not 0.30000000000000004
    assert [r.max_sellable for r in result.lines] == [Decimal("0.1"), Decimal("0.2")]


def test_product_line_and_package_line_share_the_product() -> None:
    rum = stock_of("White rum", 2100)
    lines: list[CartLine] = [
        PackageLine(MOJITO.package_id, 10),  # 500 ml
        ProductLine(rum.product_id, Decimal(1700)),  # a bottle sold on its own, say
    ]
    result = check_cart(lines, PACKAGES, {rum.product_id: rum})
    assert [(s.product_name, s.required, s.shortfall) for s in result.shortages] == [
        ("White rum", Decimal(2200), Decimal(100))
    ]
    mojitos, rum_line = result.lines
    assert mojitos.max_sellable == 8  # 2100 - 1700 = 400 ml: 8 Mojitos
    assert rum_line.max_sellable == Decimal(1600)
    assert rum_line.name == "White rum"


def test_inactive_product_counts_as_no_stock() -> None:
    cider = stock_of("Seasonal cider", 24, active=False)
    result = check_cart([ProductLine(cider.product_id, Decimal(1))], {}, {cider.product_id: cider})
    assert not result.valid
    assert result.lines[0].status is LineStatus.INACTIVE
    assert result.lines[0].max_sellable == Decimal(0)
    assert [(s.required, s.available) for s in result.shortages] == [(Decimal(1), Decimal(0))]


def test_inactive_component_makes_the_package_short() -> None:
    bucket = package("Cider bucket", [component("Cider", 4, 24, active=False)])
    result = check_cart([PackageLine(bucket.package_id, 1)], {bucket.package_id: bucket}, {})
    assert not result.valid
    assert result.lines[0].status is LineStatus.INSUFFICIENT_STOCK
    assert result.lines[0].max_sellable == 0


def test_inactive_package_is_rejected_and_takes_nothing_from_the_rest() -> None:
    retired = package("Retired rum punch", [component("White rum", 2000, 2100)], active=False)
    packages = {**PACKAGES, retired.package_id: retired}
    lines: list[CartLine] = [PackageLine(retired.package_id, 1), PackageLine(MOJITO.package_id, 2)]
    result = check_cart(lines, packages, {})
    assert not result.valid
    assert result.shortages == ()
    assert [(r.status, r.max_sellable) for r in result.lines] == [
        (LineStatus.INACTIVE, 0),
        (LineStatus.OK, 18),  # the retired punch's 2000 ml are not counted against it
    ]


def test_package_without_components_has_no_limit() -> None:
    flight = package("Tasting flight")
    result = check_cart([PackageLine(flight.package_id, 3)], {flight.package_id: flight}, {})
    assert result.valid
    assert result.lines[0].max_sellable is None


def test_oversold_stock_is_shown_as_nothing_available() -> None:
    lager = stock_of("Lager", -4)
    result = check_cart([ProductLine(lager.product_id, Decimal(1))], {}, {lager.product_id: lager})
    assert [(s.available, s.shortfall) for s in result.shortages] == [(Decimal(0), Decimal(1))]
    assert result.lines[0].max_sellable == Decimal(0)


def test_same_package_on_two_lines_is_summed() -> None:
    lines: list[CartLine] = [PackageLine(MOJITO.package_id, 10), PackageLine(MOJITO.package_id, 9)]
    result = check_cart(lines, PACKAGES, {})
    assert not result.valid  # 19 Mojitos need 9.5 limes
    assert [r.max_sellable for r in result.lines] == [9, 8]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Fraction(1, 4), "0.25"), (Fraction(0), "0"), (Fraction(-3, 8), "-0.375"), (Fraction(7), "7")],
)
def test_to_decimal_is_exact(value: Fraction, expected: str) -> None:
    assert to_decimal(value) == Decimal(expected)


def test_to_decimal_refuses_a_repeating_fraction() -> None:
    with pytest.raises(ValueError, match="finite decimal"):
        to_decimal(Fraction(1, 3))


# --- Property: the aggregate rules agree with selling the cart unit by unit. ---

PRODUCT_IDS = [uuid.UUID(int=i) for i in range(1, 5)]
PACKAGE_IDS = [uuid.UUID(int=100 + i) for i in range(4)]
decimals = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(20), places=2)


@st.composite
def carts(
    draw: st.DrawFn,
) -> tuple[list[CartLine], dict[uuid.UUID, PackageSpec], dict[uuid.UUID, Stock]]:
    """Lines over a small catalogue, plus the product rows a product line would read."""
    stocks = {
        pid: Stock(
            pid,
            f"P{i}",
            draw(st.decimals(min_value=Decimal(-5), max_value=Decimal(60), places=2)),
            draw(st.integers(0, 4)) > 0,
        )
        for i, pid in enumerate(PRODUCT_IDS)
    }
    packages = {}
    for i, package_id in enumerate(PACKAGE_IDS):
        chosen = draw(st.lists(st.sampled_from(PRODUCT_IDS), max_size=3, unique=True))
        components = tuple(
            component(
                stocks[pid].product_name,
                draw(decimals),
                stocks[pid].current_stock,
                active=stocks[pid].is_active,
                product_id=pid,
            )
            for pid in chosen
        )
        packages[package_id] = PackageSpec(
            package_id, f"K{i}", components, is_active=draw(st.integers(0, 5)) > 0
        )
    lines: list[CartLine] = draw(
        st.lists(
            st.one_of(
                st.builds(PackageLine, st.sampled_from(PACKAGE_IDS), st.integers(1, 6)),
                st.builds(ProductLine, st.sampled_from(PRODUCT_IDS), decimals),
            ),
            min_size=1,
            max_size=5,
        )
    )
    return lines, packages, stocks


def _sell(
    lines: list[CartLine],
    packages: dict[uuid.UUID, PackageSpec],
    stocks: dict[uuid.UUID, Stock],
) -> dict[uuid.UUID, Fraction]:
    """Stock left after taking the lines one unit at a time (inactive packages are skipped)."""
    left = {pid: s.usable for pid, s in stocks.items()}
    for line in lines:
        if isinstance(line, ProductLine):
            left[line.product_id] -= Fraction(line.quantity)
            continue
        spec = packages[line.package_id]
        if not spec.is_active:
            continue
        for _ in range(line.quantity):
            for c in spec.components:
                left[c.product_id] -= Fraction(c.quantity)
    return left


def _oracle_max_packages(
    line_index: int,
    lines: list[CartLine],
    packages: dict[uuid.UUID, PackageSpec],
    stocks: dict[uuid.UUID, Stock],
) -> int:
    """Sell the rest of the cart, then this package one more at a time until one runs out."""
    line = lines[line_index]
    assert isinstance(line, PackageLine)
    left = _sell([*lines[:line_index], *lines[line_index + 1 :]], packages, stocks)
    components = packages[line.package_id].components
    sold = 0
    while all(left[c.product_id] >= Fraction(c.quantity) for c in components):
        for c in components:
            left[c.product_id] -= Fraction(c.quantity)
        sold += 1
    return sold


@given(carts())
def test_cart_check_agrees_with_selling_unit_by_unit(
    cart: tuple[list[CartLine], dict[uuid.UUID, PackageSpec], dict[uuid.UUID, Stock]],
) -> None:
    lines, packages, stocks = cart
    sold_alone = {line.product_id for line in lines if isinstance(line, ProductLine)}
    # As the service reads them: component stock from the packages, product lines' own rows.
    products = {pid: stocks[pid] for pid in sold_alone}
    result: CartCheck = check_cart(lines, packages, products)

    left = _sell(lines, packages, stocks)
    short = {pid for pid, amount in left.items() if amount < 0}
    assert {s.product_id for s in result.shortages} == short
    for s in result.shortages:
        assert Fraction(s.shortfall) == -left[s.product_id]
    inactive = any(
        (isinstance(line, PackageLine) and not packages[line.package_id].is_active)
        or (isinstance(line, ProductLine) and not stocks[line.product_id].is_active)
        for line in lines
    )
    assert result.valid == (not short and not inactive)

    for index, (line, line_result) in enumerate(zip(lines, result.lines, strict=True)):
        if isinstance(line, ProductLine):
            rest = [*lines[:index], *lines[index + 1 :]]
            room = _sell(rest, packages, stocks)[line.product_id]
            assert line_result.max_sellable == to_decimal(max(Fraction(0), room))
        elif not packages[line.package_id].is_active:
            assert line_result.max_sellable == 0
        elif not packages[line.package_id].components:
            assert line_result.max_sellable is None
        else:
            assert line_result.max_sellable == _oracle_max_packages(index, lines, packages, stocks)
