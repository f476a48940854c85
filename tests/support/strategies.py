"""Hypothesis strategies for random catalogues that stress the availability rules."""

from __future__ import annotations

import uuid
from decimal import Decimal

from hypothesis import strategies as st

from inventory.rules.availability import Component, PackageSpec

# Values chosen to collide: 0.3/0.1 == 3/1, negative and zero stock, repeating fractions.
STOCKS = [
    Decimal(v)
    for v in (
        "-5",
        "-0.5",
        "0",
        "0.3",
        "0.9",
        "1",
        "2.5",
        "3",
        "7",
        "10",
        "12.75",
        "15",
        "33.3",
        "100",
        "1000.001",
    )
]
QUANTITIES = [Decimal(v) for v in ("0.1", "0.25", "0.3", "0.5", "1", "1.5", "2", "3", "5", "0.333")]
PARS = [Decimal(v) for v in ("0.3", "1", "5", "12", "48", "100", "250.5")]
NAMES = ["Corona", "Lime", "Ice", "Rum", "Mint"]  # few names: ties on name, then on id


# Built once: a strategy made inside the composite is validated again at every draw, which
# cost most of the property tests' time (the values drawn are the same either way).
_IDS = st.integers(1, 2**128 - 1)
_PRODUCT_NAMES = st.sampled_from(NAMES)
_STOCKS = st.sampled_from(STOCKS)
_PARS = st.none() | st.sampled_from(PARS)
_BOOLEANS = st.booleans()
_QUANTITIES = st.sampled_from(QUANTITIES)
_PACKAGE_NAMES = st.sampled_from(["Bucket", "Mojito", "Combo"])
_NORMAL_MAX_SELLABLE = st.none() | st.integers(1, 200)


def _mostly_true(draw: st.DrawFn) -> bool:
    """True three times in four: one boolean, and a second one only when the first is False."""
    return draw(_BOOLEANS) or draw(_BOOLEANS)


@st.composite
def catalogs(draw: st.DrawFn, max_products: int = 7, max_packages: int = 6) -> list[PackageSpec]:
    product_count = draw(st.integers(1, max_products))
    products = [
        Component(
            product_id=uuid.UUID(int=draw(_IDS)),
            product_name=draw(_PRODUCT_NAMES),
            quantity=Decimal(1),  # replaced per package below
            current_stock=draw(_STOCKS),
            is_active=_mostly_true(draw),
            par_level=draw(_PARS),
        )
        for _ in range(product_count)
    ]
    # Distinct product ids (a clash in 128 random bits only happens when hypothesis shrinks).
    unique = {p.product_id: p for p in products}
    products = list(unique.values())
    choices = st.lists(st.sampled_from(products), max_size=4, unique_by=lambda p: p.product_id)
    specs = []
    for index in range(draw(st.integers(1, max_packages))):
        chosen = draw(choices)
        components = tuple(
            Component(
                product_id=p.product_id,
                product_name=p.product_name,
                quantity=draw(_QUANTITIES),
                current_stock=p.current_stock,
                is_active=p.is_active,
                par_level=p.par_level,
            )
            for p in chosen
        )
        specs.append(
            PackageSpec(
                package_id=uuid.UUID(int=index + 1),
                package_name=draw(_PACKAGE_NAMES),
                components=components,
                is_active=_mostly_true(draw),
                normal_max_sellable=draw(_NORMAL_MAX_SELLABLE),
            )
        )
    return specs


thresholds = st.sampled_from([Decimal("0.2"), Decimal("0.25"), Decimal("0.5"), Decimal("1")])
