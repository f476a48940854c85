"""Which notifications an availability snapshot and usage figures call for (SPEC §4).

Pure: the snapshot, the usage figures, the settings and the clock come in as values; alerts
come out. Every decision is exact (Fraction/Decimal).

An alert is decided here and written later (rules/alert_texts.py): `Alert.draft()` builds its
title, message and data only when asked, because with the cooldown warm the monitor suppresses
almost every alert, and writing the texts of thousands of alerts costs more than deciding them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from functools import partial
from uuid import UUID

from inventory.rules import alert_texts, episodes
from inventory.rules.alert_types import Alert, CooldownKey, NotificationType
from inventory.rules.availability import PackageAvailability, Status

_PROBLEM_STATUSES = (Status.UNAVAILABLE, Status.LOW_STOCK)


@dataclass(frozen=True, slots=True)
class ProductFigures:
    """One product as the alerts see it: its stock and, where the stockout rule judges it, its
    usage over the lookback window (None where only its stock and name are needed: the
    limiting products a package alert names)."""

    product_id: UUID
    product_name: str
    current_stock: Decimal
    usage: Decimal | None = None
    unit: str = "unit"
    is_active: bool = True


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """The SPEC §4 tunables the rules read."""

    package_low_stock_threshold: Decimal
    bottleneck_min_packages: int
    stockout_prediction_days: Decimal
    stockout_lookback_days: int


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Alerts in a deterministic order, and what the rules found (the monitor reports both; how
    many packages and products were checked is counted where they are read)."""

    alerts: tuple[Alert, ...]
    bottlenecks_detected: int
    stockouts_predicted: int
    # Every condition that holds (rules/episodes.py): the alerts' and the worse states that
    # continue an episode without an alert of their own.
    holding: frozenset[CooldownKey] = frozenset()


def package_alerts(
    snapshot: Iterable[PackageAvailability],
    products: Mapping[UUID, ProductFigures],
    settings: RuleSettings,
) -> list[Alert]:
    """package_unavailable for each unavailable package, package_low_stock for each low one.

    A package has one status, so an unavailable package never also gets the low-stock alert.
    """
    alerts = []
    for item in snapshot:
        if item.status is Status.UNAVAILABLE:
            kind = NotificationType.PACKAGE_UNAVAILABLE
        elif item.status is Status.LOW_STOCK and item.baseline is not None:
            kind = NotificationType.PACKAGE_LOW_STOCK
        else:
            continue
        build = partial(alert_texts.package_draft, kind, item, products, settings)
        alerts.append(Alert(CooldownKey(kind, item.package_id), build))
    return alerts


def bottleneck_alerts(
    snapshot: Iterable[PackageAvailability],
    products: Mapping[UUID, ProductFigures],
    settings: RuleSettings,
) -> list[Alert]:
    """package_bottleneck for each product limiting at least N unavailable or low packages,
    by (product name, id).

    Every limiting product counts, not only the first: with a tie, restocking one of them
    alone frees nothing, and each deserves the alert.
    """
    blocked: defaultdict[UUID, list[PackageAvailability]] = defaultdict(list)
    for item in snapshot:
        if item.status not in _PROBLEM_STATUSES:
            continue
        limiting = item.limiting_product_ids
        # A package counts once per product, even if its figures name the product twice.
        for product_id in limiting if len(limiting) == 1 else dict.fromkeys(limiting):
            blocked[product_id].append(item)
    ranked = []
    for product_id, items in blocked.items():
        if len(items) < settings.bottleneck_min_packages:
            continue
        figures = products.get(product_id)
        name = figures.product_name if figures else _bottleneck_name(product_id, items)
        build = partial(alert_texts.bottleneck_draft, product_id, name, figures, items, settings)
        alert = Alert(CooldownKey(NotificationType.PACKAGE_BOTTLENECK, product_id), build)
        ranked.append(((name, str(product_id)), alert))
    return [alert for _, alert in sorted(ranked, key=lambda pair: pair[0])]


def _bottleneck_name(product_id: UUID, items: Iterable[PackageAvailability]) -> str:
    """The name the first package with this product as its bottleneck gives it (every such
    package is among the ones it limits), else its id."""
    for item in items:
        if item.bottleneck is not None and item.bottleneck.product_id == product_id:
            return item.bottleneck.product_name
    return str(product_id)


def days_until_stockout(figures: ProductFigures, lookback_days: int) -> Fraction | None:
    """Stock / average daily usage, exactly; None when nothing was used (or the usage is not
    known) or nothing is left."""
    if figures.usage is None or figures.usage <= 0 or figures.current_stock <= 0:
        return None
    daily = Fraction(figures.usage) / lookback_days
    return Fraction(figures.current_stock) / daily


def stockout_alerts(
    products: Iterable[ProductFigures], settings: RuleSettings, now: datetime
) -> list[Alert]:
    """stockout_predicted for each active product that runs out in under N days, by
    (product name, id)."""
    limit = Fraction(settings.stockout_prediction_days)
    lookback = settings.stockout_lookback_days
    ranked = []
    for figures in products:
        if not figures.is_active:
            continue
        days = days_until_stockout(figures, lookback)
        if days is None or days >= limit:
            continue
        build = partial(alert_texts.stockout_draft, figures, days, settings, now)
        alert = Alert(CooldownKey(NotificationType.STOCKOUT_PREDICTED, figures.product_id), build)
        ranked.append(((figures.product_name, str(figures.product_id)), alert))
    return [alert for _, alert in sorted(ranked, key=lambda pair: pair[0])]


def evaluate(
    snapshot: Sequence[PackageAvailability],
    products: Sequence[ProductFigures],
    settings: RuleSettings,
    now: datetime,
    *,
    limiting_products: Mapping[UUID, ProductFigures] | None = None,
) -> Evaluation:
    """Every alert one monitor run calls for: packages (by name, id), bottlenecks, stockouts.

    `products` are the figures the stockout rule judges; package alerts also name the
    `limiting_products` of the packages, whose usage they do not need.
    """
    by_id: dict[UUID, ProductFigures] = {p.product_id: p for p in products}
    by_id.update(limiting_products or {})
    packages = package_alerts(snapshot, by_id, settings)
    bottlenecks = bottleneck_alerts(snapshot, by_id, settings)
    stockouts = stockout_alerts(products, settings, now)
    alerts = (*packages, *bottlenecks, *stockouts)
    # The candidates at zero stock: used lately, or with their predicted stockout still open.
    ran_out = (p.product_id for p in products if p.is_active and p.current_stock <= 0)
    return Evaluation(
        alerts=alerts,
        bottlenecks_detected=len(bottlenecks),
        stockouts_predicted=len(stockouts),
        holding=episodes.conditions_holding(alerts, snapshot, ran_out),
    )
