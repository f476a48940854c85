"""The availability rules on plain values: no database, no I/O."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from inventory.rules.availability import Status, classify, floor_non_negative
from tests.support.availability_reference import baseline_for, evaluate_package, limiting_components
from tests.support.catalog import component, package

THRESHOLD = Decimal("0.2")


def test_ratio_is_exact_for_decimal_stock_and_quantity() -> None:
    result = evaluate_package(package("Shot", [component("Rum", "0.1", "0.3")]), THRESHOLD)
    assert result.max_sellable == 3


def test_max_sellable_is_the_floor_of_the_smallest_ratio() -> None:
    spec = package("Bucket", [component("Corona", 5, 23), component("Ice", "0.5", 100)])
    result = evaluate_package(spec, THRESHOLD)
    assert result.max_sellable == 4
    assert result.bottleneck is not None
    assert result.bottleneck.product_name == "Corona"
    assert result.bottleneck.current_stock == Decimal(23)
    assert result.bottleneck.quantity_per_package == Decimal(5)


def test_negative_stock_gives_zero_not_a_negative_count() -> None:
    result = evaluate_package(package("Beer", [component("Lager", 1, -4)]), THRESHOLD)
    assert result.max_sellable == 0
    assert result.status is Status.UNAVAILABLE


def test_inactive_component_counts_as_no_stock() -> None:
    spec = package("Cider", [component("Cider", 1, 50, active=False), component("Ice", 1, 9)])
    result = evaluate_package(spec, THRESHOLD)
    assert result.max_sellable == 0
    assert result.bottleneck is not None
    assert result.bottleneck.product_name == "Cider"


def test_package_without_components_has_no_max_sellable() -> None:
    result = evaluate_package(package("Coming soon"), THRESHOLD)
    assert result.max_sellable is None
    assert result.status is Status.NO_COMPONENTS
    assert result.bottleneck is None
    assert result.limiting_product_ids == ()


def test_ties_report_every_limiting_product_and_the_first_by_name_then_id() -> None:
    low_id, high_id = uuid.UUID(int=1), uuid.UUID(int=2)
    spec = package(
        "Trio",
        [
            component("Mint", 2, 10),
            component("Lime", 1, 5, product_id=high_id),
            component("Lime", "0.5", "2.5", product_id=low_id),
            component("Rum", 1, 100),
        ],
    )
    result = evaluate_package(spec, THRESHOLD)
    assert result.max_sellable == 5
    assert result.limiting_product_ids == (low_id, high_id, uuid.uuid5(uuid.NAMESPACE_OID, "Mint"))
    assert result.bottleneck is not None
    assert result.bottleneck.product_id == low_id


def test_explicit_baseline_wins_over_par_levels() -> None:
    components = [component("Gin", 50, 1000, par=5000)]
    assert baseline_for(40, components) == 40
    assert baseline_for(None, components) == 100


def test_par_baseline_uses_only_components_with_a_par_level() -> None:
    components = [component("Gin", 50, 1000, par=5000), component("Glass", 1, 5)]
    assert baseline_for(None, components) == 100
    assert baseline_for(None, [component("Glass", 1, 5)]) is None


def test_par_baseline_is_floored_exactly() -> None:
    assert baseline_for(None, [component("Rum", "0.1", 0, par="0.3")]) == 3


@pytest.mark.parametrize(
    ("max_sellable", "baseline", "expected"),
    [
        (0, 15, Status.UNAVAILABLE),
        (2, 15, Status.LOW_STOCK),
        (3, 15, Status.AVAILABLE),  # 0.2 x 15 is exactly 3, and 3 is not below 3
        (1, None, Status.AVAILABLE),  # no baseline, never low
        (0, None, Status.UNAVAILABLE),
        (5, 0, Status.AVAILABLE),
    ],
)
def test_classify_compares_against_the_exact_threshold(
    max_sellable: int, baseline: int | None, expected: Status
) -> None:
    assert classify(max_sellable, baseline, THRESHOLD, has_components=True) is expected


def test_inactive_package_is_reported_as_inactive() -> None:
    spec = package("Old", [component("Rum", 1, 10)], active=False)
    assert evaluate_package(spec, THRESHOLD).status is Status.INACTIVE


def test_low_stock_from_par_baseline() -> None:
    spec = package("Margarita", [component("Tequila", 50, 350, par=3500)])
    result = evaluate_package(spec, THRESHOLD)
    assert (result.max_sellable, result.baseline, result.status) == (7, 70, Status.LOW_STOCK)


def test_floor_non_negative_handles_fractions_below_one() -> None:
    assert floor_non_negative(Decimal("0.999")) == 0
    assert floor_non_negative(Decimal("-0.5")) == 0
    assert floor_non_negative(Decimal("7.0")) == 7


def test_limiting_components_of_nothing_is_empty() -> None:
    assert limiting_components([]) == []
