"""The notification rules (SPEC §4) on plain values: no database, no clock but the one given."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from inventory.rules.alert_types import NotificationType, Priority, ReferenceType
from inventory.rules.alerts import (
    ProductFigures,
    RuleSettings,
    days_until_stockout,
    evaluate,
)
from inventory.rules.availability import PackageAvailability, PackageSpec
from tests.support.availability_reference import evaluate_package
from tests.support.catalog import component, package
from tests.support.drafts import bottleneck_drafts, drafts_of, package_drafts, stockout_drafts

NOW = datetime(2025, 10, 21, 12, 0, tzinfo=UTC)
SETTINGS = RuleSettings(
    package_low_stock_threshold=Decimal("0.2"),
    bottleneck_min_packages=2,
    stockout_prediction_days=Decimal(7),
    stockout_lookback_days=28,
)


def snapshot(*specs: PackageSpec) -> list[PackageAvailability]:
    return [evaluate_package(s, SETTINGS.package_low_stock_threshold) for s in specs]


def figures(
    name: str,
    stock: str | int,
    usage: str | int = 0,
    *,
    unit: str = "unit",
    active: bool = True,
) -> ProductFigures:
    return ProductFigures(
        product_id=uuid.uuid5(uuid.NAMESPACE_OID, name),
        product_name=name,
        current_stock=Decimal(stock),
        usage=Decimal(usage),
        unit=unit,
        is_active=active,
    )


def by_id(*items: ProductFigures) -> dict[uuid.UUID, ProductFigures]:
    return {f.product_id: f for f in items}


# --- package_unavailable / package_low_stock -------------------------------------------------


def test_unavailable_package_gets_an_urgent_notification_naming_the_component() -> None:
    bucket = package("Bucket of 5 Beers", [component("Corona", 5, 3)])
    [draft] = package_drafts(snapshot(bucket), by_id(figures("Corona", 3)), SETTINGS)
    assert draft.type is NotificationType.PACKAGE_UNAVAILABLE
    assert draft.priority is Priority.URGENT
    assert draft.reference_type is ReferenceType.PACKAGE
    assert draft.reference_id == bucket.package_id
    assert draft.title == "Bucket of 5 Beers cannot be sold"
    assert draft.message == (
        "Bucket of 5 Beers cannot be sold: Corona has 3 in stock, 5 needed per package."
    )
    assert draft.data["max_sellable"] == 0
    assert draft.data["bottleneck"]["product_name"] == "Corona"
    assert draft.data["bottleneck"]["current_stock"] == 3
    assert draft.data["bottleneck"]["quantity_per_package"] == 5


def test_unavailable_package_is_not_also_reported_as_low_stock() -> None:
    bucket = package("Bucket", [component("Corona", 5, 0)], normal=20)
    drafts = package_drafts(snapshot(bucket), {}, SETTINGS)
    assert [d.type for d in drafts] == [NotificationType.PACKAGE_UNAVAILABLE]


@pytest.mark.parametrize("stock", ["0", "-4", "4.99"])
def test_stock_at_or_below_one_package_makes_it_unavailable(stock: str) -> None:
    bucket = package("Bucket", [component("Corona", 5, stock)])
    [draft] = package_drafts(snapshot(bucket), {}, SETTINGS)
    assert draft.type is NotificationType.PACKAGE_UNAVAILABLE
    assert f"Corona has {stock} in stock" in draft.message


def test_units_are_shown_when_the_product_has_one() -> None:
    shot = package("Vodka shot", [component("Vodka", 50, 30)])
    [draft] = package_drafts(snapshot(shot), by_id(figures("Vodka", 30, unit="ml")), SETTINGS)
    assert "Vodka has 30 ml in stock, 50 ml needed per package" in draft.message


def test_inactive_component_is_named_as_the_cause() -> None:
    cider = package("Cider pint", [component("Cider", 1, 40, active=False)])
    products = by_id(figures("Cider", 40, active=False))
    [draft] = package_drafts(snapshot(cider), products, SETTINGS)
    assert "Cider is inactive" in draft.message


def test_tied_limiting_products_are_all_named() -> None:
    mojito = package("Mojito", [component("Lime", 1, 0), component("Mint", 2, 0)])
    products = by_id(figures("Lime", 0), figures("Mint", 0))
    [draft] = package_drafts(snapshot(mojito), products, SETTINGS)
    assert "Lime has 0 in stock" in draft.message
    assert "(also limited by Mint)" in draft.message
    assert len(draft.data["limiting_product_ids"]) == 2


def test_low_stock_package_gets_a_high_notification_with_the_figures() -> None:
    margarita = package("Margarita", [component("Tequila", 50, 350, par=3500)])
    [draft] = package_drafts(
        snapshot(margarita), by_id(figures("Tequila", 350, unit="ml")), SETTINGS
    )
    assert draft.type is NotificationType.PACKAGE_LOW_STOCK
    assert draft.priority is Priority.HIGH
    assert draft.message == (
        "Only 7 Margarita can be sold, below 20% of the normal 70: "
        "Tequila has 350 ml in stock, 50 ml needed per package."
    )
    assert draft.data["max_sellable"] == 7
    assert draft.data["baseline"] == 70
    assert draft.data["threshold"] == 0.2
    assert draft.data["low_stock_limit"] == 14


@pytest.mark.parametrize(
    ("stock", "expected"),
    [
        (2, [NotificationType.PACKAGE_LOW_STOCK]),  # 2 < 0.2 x 15
        (3, []),  # exactly 0.2 x 15 = 3: not below the threshold
        (4, []),
    ],
)
def test_low_stock_threshold_is_exact(stock: int, expected: list[NotificationType]) -> None:
    beer = package("Beer", [component("Lager", 1, stock)], normal=15)
    assert [d.type for d in package_drafts(snapshot(beer), {}, SETTINGS)] == expected


def test_package_without_baseline_is_never_low() -> None:
    beer = package("Beer", [component("Lager", 1, 1)])
    assert package_drafts(snapshot(beer), {}, SETTINGS) == []


def test_packages_without_components_or_inactive_raise_nothing() -> None:
    empty = package("Coming soon")
    old = package("Old", [component("Rum", 1, 0)], active=False)
    fine = package("Beer", [component("Lager", 1, 50)])
    result = evaluate(snapshot(empty, old, fine), [], SETTINGS, NOW)
    assert drafts_of(result) == ()


# --- package_bottleneck ----------------------------------------------------------------------


def test_product_limiting_two_problem_packages_is_a_bottleneck() -> None:
    corona = figures("Corona", 3)
    specs = (
        package("Bucket of 5 Beers", [component("Corona", 5, 3)]),
        package("Beer Tower", [component("Corona", 1, 3), component("Ice", 1, 50)], normal=20),
    )
    [draft] = bottleneck_drafts(snapshot(*specs), by_id(corona), SETTINGS)
    assert draft.type is NotificationType.PACKAGE_BOTTLENECK
    assert draft.priority is Priority.URGENT
    assert draft.reference_type is ReferenceType.PRODUCT
    assert draft.reference_id == corona.product_id
    assert draft.title == "Corona is limiting 2 packages"
    assert "Bucket of 5 Beers (unavailable, 0 sellable)" in draft.message
    assert "Beer Tower (low, 3 sellable)" in draft.message
    assert "Corona has 3 in stock" in draft.message
    affected = draft.data["affected_packages"]
    assert [a["package_name"] for a in affected] == ["Beer Tower", "Bucket of 5 Beers"]
    assert draft.data["affected_package_count"] == 2


def test_one_problem_package_is_not_a_bottleneck() -> None:
    specs = (
        package("Bucket", [component("Corona", 5, 3)]),
        package("Single beer", [component("Corona", 1, 3)]),  # available: does not count
    )
    assert bottleneck_drafts(snapshot(*specs), {}, SETTINGS) == []


def test_bottleneck_minimum_is_configurable() -> None:
    specs = (
        package("Bucket", [component("Corona", 5, 3)]),
        package("Tower", [component("Corona", 10, 3)]),
    )
    three = RuleSettings(Decimal("0.2"), 3, Decimal(7), 28)
    assert bottleneck_drafts(snapshot(*specs), {}, three) == []
    assert len(bottleneck_drafts(snapshot(*specs), {}, SETTINGS)) == 1


def test_every_tied_limiting_product_counts_not_only_the_first() -> None:
    specs = (
        package("Mojito", [component("Lime", 1, 0), component("Mint", 1, 0)]),
        package("Caipirinha", [component("Lime", 1, 0), component("Mint", 2, 0)]),
    )
    products = by_id(figures("Lime", 0), figures("Mint", 0))
    drafts = bottleneck_drafts(snapshot(*specs), products, SETTINGS)
    assert [d.data["product_name"] for d in drafts] == ["Lime", "Mint"]


def test_a_component_that_does_not_limit_is_not_a_bottleneck() -> None:
    specs = (
        package("Bucket", [component("Corona", 5, 3), component("Ice", 1, 2)]),
        package("Tower", [component("Corona", 10, 3), component("Ice", 1, 1)]),
    )
    drafts = bottleneck_drafts(snapshot(*specs), {}, SETTINGS)
    assert [d.data["product_name"] for d in drafts] == ["Corona"]


# --- stockout_predicted ----------------------------------------------------------------------


def test_stockout_is_predicted_from_average_daily_usage() -> None:
    corona = figures("Corona", 21, 168)  # 168 over 28 days = 6 a day: 3.5 days left
    [draft] = stockout_drafts([corona], SETTINGS, NOW)
    assert draft.type is NotificationType.STOCKOUT_PREDICTED
    assert draft.priority is Priority.HIGH
    assert draft.reference_type is ReferenceType.PRODUCT
    assert draft.data["avg_daily_usage"] == 6
    assert draft.data["days_until_stockout"] == 3.5
    assert draft.data["predicted_stockout_date"] == "2025-10-25"
    assert draft.data["predicted_stockout_at"] == "2025-10-25T00:00:00+00:00"
    assert draft.message == (
        "Corona will run out in about 3.5 days (around 2025-10-25): 21 in stock, "
        "6 used per day over the last 28 days. Reorder before then."
    )


@pytest.mark.parametrize(
    ("stock", "usage", "predicted"),
    [
        ("7", "28", False),  # exactly 7 days: not below the horizon
        ("6.99", "28", True),
        ("21", "0", False),  # no usage: no prediction
        ("0", "28", False),  # nothing left to run out of
        ("-3", "28", False),
    ],
)
def test_stockout_boundaries(stock: str, usage: str, predicted: bool) -> None:
    drafts = stockout_drafts([figures("Corona", stock, usage)], SETTINGS, NOW)
    assert bool(drafts) is predicted


def test_inactive_products_get_no_stockout_prediction() -> None:
    assert stockout_drafts([figures("Corona", 1, 280, active=False)], SETTINGS, NOW) == []


def test_days_until_stockout_is_exact_for_decimal_figures() -> None:
    # 0.3 left, 0.1 x 28 used: exactly 3 days, where float division would give 2.9999...
    days = days_until_stockout(figures("Rum", "0.3", "2.8"), 28)
    assert days == 3


# --- evaluate: order -------------------------------------------------------------


def test_evaluate_orders_drafts_by_type_then_name() -> None:
    specs = (
        package("A unavailable", [component("Corona", 5, 3)]),
        package("B low", [component("Corona", 1, 3)], normal=20),
        package("C fine", [component("Gin", 1, 100)]),
    )
    products = [
        figures("Corona", 3, 84),  # 3 a day: 1 day left
        figures("Gin", 100, 28),  # 100 days left
        figures("Apple", 2, 28),  # 2 days left
        figures("Old", 1, 280, active=False),
    ]
    result = evaluate(snapshot(*specs), products, SETTINGS, NOW)
    assert [
        (d.type.value, d.data.get("package_name") or d.data["product_name"])
        for d in drafts_of(result)
    ] == [
        ("package_unavailable", "A unavailable"),
        ("package_low_stock", "B low"),
        ("package_bottleneck", "Corona"),
        ("stockout_predicted", "Apple"),
        ("stockout_predicted", "Corona"),
    ]
    assert (result.bottlenecks_detected, result.stockouts_predicted) == (1, 2)
    # An alert's key is decided before its text, and is the key of the text it writes.
    assert [a.key for a in result.alerts] == [d.cooldown_key for d in drafts_of(result)]


def test_named_product_details_give_package_alerts_the_same_texts_as_full_figures() -> None:
    specs = (
        package("Shot", [component("Vodka", 50, 30)]),
        package("Double shot", [component("Vodka", 100, 30)]),
        package("Cider pint", [component("Cider", 1, 40, active=False)]),
    )
    vodka = figures("Vodka", 30, 280, unit="ml")  # 3 days left
    cider = figures("Cider", 40, active=False)
    named = {
        f.product_id: ProductFigures(
            f.product_id, f.product_name, f.current_stock, unit=f.unit, is_active=f.is_active
        )
        for f in (vodka, cider)
    }

    from_details = evaluate(snapshot(*specs), [], SETTINGS, NOW, limiting_products=named)
    from_figures = evaluate(snapshot(*specs), [vodka, cider], SETTINGS, NOW)

    package_and_bottleneck = [d for d in drafts_of(from_figures) if d.type != "stockout_predicted"]
    assert list(drafts_of(from_details)) == package_and_bottleneck
    assert [d.type.value for d in drafts_of(from_details)] == [
        "package_unavailable",
        "package_unavailable",
        "package_unavailable",
        "package_bottleneck",
    ]
    assert "30 ml in stock" in drafts_of(from_details)[-1].message
    assert (from_figures.stockouts_predicted, from_details.stockouts_predicted) == (1, 0)


def test_same_names_are_ordered_by_id() -> None:
    low, high = uuid.UUID(int=1), uuid.UUID(int=2)
    products = [
        ProductFigures(high, "Lime", Decimal(1), Decimal(28)),
        ProductFigures(low, "Lime", Decimal(1), Decimal(28)),
    ]
    drafts = stockout_drafts(products, SETTINGS, NOW)
    assert [d.reference_id for d in drafts] == [low, high]
