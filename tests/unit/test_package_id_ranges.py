"""Splitting the package ids between the monitor's two connections, and joining the two
answers again: pure, no I/O."""

from __future__ import annotations

import uuid
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.data.availability_sql import EVERY_PACKAGE, PackageIdRange, ProblemPackages, split
from inventory.rules.alerts import ProductFigures
from inventory.rules.availability import Bottleneck, PackageAvailability, Status

shares = st.fractions(min_value=0, max_value=1, max_denominator=10**6).filter(lambda f: 0 < f < 1)
uuids = st.integers(0, 2**128 - 1).map(lambda i: uuid.UUID(int=i))


@st.composite
def ranges(draw: st.DrawFn) -> PackageIdRange:
    first, last = sorted(draw(st.lists(uuids, min_size=2, max_size=2, unique=True)))
    return PackageIdRange(first, last)


def holds(ids: PackageIdRange, package_id: uuid.UUID) -> bool:
    return ids.first <= package_id <= ids.last


@given(ids=ranges(), share=shares, package_id=uuids)
def test_every_id_of_the_range_is_in_exactly_one_part(
    ids: PackageIdRange, share: Fraction, package_id: uuid.UUID
) -> None:
    lower, upper = split(ids, share)

    assert (lower.first, upper.last) == (ids.first, ids.last)
    assert lower.first <= lower.last < upper.first <= upper.last
    assert upper.first.int == lower.last.int + 1
    assert holds(lower, package_id) + holds(upper, package_id) == int(holds(ids, package_id))


def test_the_share_is_the_part_of_the_id_space() -> None:
    lower, upper = split(EVERY_PACKAGE, Fraction(1, 2))

    assert lower.last == uuid.UUID("7fffffff-ffff-ffff-ffff-ffffffffffff")
    assert upper.first == uuid.UUID("80000000-0000-0000-0000-000000000000")
    assert split(EVERY_PACKAGE, Fraction(3, 5))[0].last.int == (2**128 - 1) * 3 // 5


@pytest.mark.parametrize("share", [Fraction(0), Fraction(1), Fraction(-1, 2), Fraction(3, 2)])
def test_a_share_outside_zero_to_one_is_refused(share: Fraction) -> None:
    with pytest.raises(ValueError, match="cannot split"):
        split(EVERY_PACKAGE, share)


def test_a_range_of_one_id_cannot_be_split() -> None:
    one = uuid.uuid4()

    with pytest.raises(ValueError, match="cannot split"):
        split(PackageIdRange(one, one), Fraction(1, 2))


def problem(name: str, package_id: uuid.UUID, product: ProductFigures) -> PackageAvailability:
    return PackageAvailability(
        package_id=package_id,
        package_name=name,
        max_sellable=0,
        status=Status.UNAVAILABLE,
        baseline=None,
        bottleneck=Bottleneck(product.product_id, product.product_name, Decimal(0), Decimal(1)),
        limiting_product_ids=(product.product_id,),
    )


def answer(items: list[PackageAvailability], checked: int) -> ProblemPackages:
    products = {
        item.bottleneck.product_id: ProductFigures(item.bottleneck.product_id, "Lime", Decimal(0))
        for item in items
        if item.bottleneck is not None
    }
    # As SQL sends them: by (name COLLATE "C", id), that is by UTF-8 bytes, then id bytes.
    ordered = sorted(items, key=lambda i: (i.package_name.encode(), i.package_id.bytes))
    return ProblemPackages(checked, ordered, products)


@given(
    names=st.lists(st.text(max_size=4), min_size=0, max_size=12),
    share=shares,
)
def test_two_parts_join_in_list_order(names: list[str], share: Fraction) -> None:
    lime = ProductFigures(uuid.uuid4(), "Lime", Decimal(0))
    items = [problem(name, uuid.uuid4(), lime) for name in names]
    lower, _ = split(EVERY_PACKAGE, share)
    below = [i for i in items if holds(lower, i.package_id)]
    above = [i for i in items if not holds(lower, i.package_id)]

    joined = answer(below, 3) + answer(above, 4)

    assert joined == answer(items, 7)
