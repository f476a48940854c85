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


@st.composite
def catalogs(draw: st.DrawFn, max_products: int = 7, max_packages: int = 6) -> list[PackageSpec]:
    product_count = draw(st.integers(1, max_products))
    products = [
        Component(
            product_id=uuid.UUID(int=draw(st.integers(1, 2**128 - 1))),
            product_name=draw(st.sampled_from(NAMES)),
            quantity=Decimal(1),  # replaced per package below
            current_stock=draw(st.sampled_from(STOCKS)),
            is_active=draw(st.booleans().map(lambda b: b or draw(st.booleans()))),
            par_level=draw(st.none() | st.sampled_from(PARS)),
        )
        for _ in range(product_count)
    ]
    # Distinct product ids (a clash in 128 random bits only happens when hypothesis shrinks).
    unique = {p.product_id: p for p in products}
    products = list(unique.values())
    specs = []
    for index in range(draw(st.integers(1, max_packages))):
        chosen = draw(
            st.lists(st.sampled_from(products), max_size=4, unique_by=lambda p: p.product_id)
        )
        components = tuple(
            Component(
                product_id=p.product_id,
                product_name=p.product_name,
                quantity=draw(st.sampled_from(QUANTITIES)),
                current_stock=p.current_stock,
                is_active=p.is_active,
                par_level=p.par_level,
            )
            for p in chosen
        )
        specs.append(
            PackageSpec(
                package_id=uuid.UUID(int=index + 1),
                package_name=draw(st.sampled_from(["Bucket", "Mojito", "Combo"])),
                components=components,
                is_active=draw(st.booleans().map(lambda b: b or draw(st.booleans()))),
                normal_max_sellable=draw(st.none() | st.integers(1, 200)),
            )
        )
    return specs


thresholds = st.sampled_from([Decimal("0.2"), Decimal("0.25"), Decimal("0.5"), Decimal("1")])
