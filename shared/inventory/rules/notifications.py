"""Which notifications an availability snapshot and usage figures call for (SPEC §4).

Pure: the snapshot, the usage figures, the settings and the clock come in as values; alerts
and counts come out. Every decision is exact (Fraction/Decimal); floats appear only in the
display figures of `data`, after the decision is made.

An alert is decided now and written later: `Alert.draft()` builds its title, message and data
only when asked, because with the cooldown warm the monitor suppresses almost every alert
(make bench: 16k alerts at 100k packages, writing their texts cost more than deciding them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from functools import partial
from typing import Any, Protocol
from uuid import UUID

from inventory.models.numbers import json_number
from inventory.rules.availability import PackageAvailability, Status
from inventory.rules.notification_draft import (
    Alert,
    CooldownKey,
    NotificationDraft,
    NotificationType,
    Priority,
    ReferenceType,
)

_SECONDS_PER_DAY = 86_400
_PROBLEM_STATUSES = (Status.UNAVAILABLE, Status.LOW_STOCK)
# Active packages with components: the ones a run actually evaluates.
_EVALUATED = (Status.AVAILABLE, Status.LOW_STOCK, Status.UNAVAILABLE)
_STATUS_WORDS = {Status.UNAVAILABLE: "unavailable", Status.LOW_STOCK: "low"}


@dataclass(frozen=True, slots=True)
class ProductFigures:
    """One product's stock and its usage over the lookback window."""

    product_id: UUID
    product_name: str
    current_stock: Decimal
    usage: Decimal
    unit: str = "unit"
    is_active: bool = True


@dataclass(frozen=True, slots=True)
class ProductDetails:
    """What package alerts say about a product they name; its usage is not needed."""

    product_id: UUID
    product_name: str
    current_stock: Decimal
    unit: str = "unit"
    is_active: bool = True


class NamedProduct(Protocol):
    """Either of the above: package alerts read only these fields."""

    @property
    def product_name(self) -> str: ...
    @property
    def current_stock(self) -> Decimal: ...
    @property
    def unit(self) -> str: ...
    @property
    def is_active(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """The SPEC §4 tunables the rules read."""

    package_low_stock_threshold: Decimal
    bottleneck_min_packages: int
    stockout_prediction_days: Decimal
    stockout_lookback_days: int


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Alerts in a deterministic order, plus the counts the monitor reports."""

    alerts: tuple[Alert, ...]
    packages_checked: int
    products_checked: int
    bottlenecks_detected: int
    stockouts_predicted: int

    @property
    def drafts(self) -> tuple[NotificationDraft, ...]:
        """Every alert written out (each call writes them again)."""
        return tuple(alert.draft() for alert in self.alerts)


def _number(value: Decimal | Fraction | int, places: int | None = None) -> int | float:
    """A JSON number for `data`: integral values as int, others rounded for display."""
    decimal = (
        Decimal(value.numerator) / Decimal(value.denominator)
        if isinstance(value, Fraction)
        else Decimal(value)
    )
    if places is not None:
        decimal = decimal.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return json_number(decimal)


def _amount(value: Decimal, unit: str) -> str:
    """'3', '350 ml': the unit is shown unless it is the generic default."""
    text = format(value.normalize(), "f")
    return text if unit in ("", "unit") else f"{text} {unit}"


def _percent(threshold: Decimal) -> str:
    return format((threshold * 100).normalize(), "f") + "%"


def _bottleneck_sentence(
    item: PackageAvailability, products: Mapping[UUID, NamedProduct]
) -> tuple[str, dict[str, Any] | None]:
    """'Corona has 3 in stock, 5 needed per package' and the same figures for `data`."""
    b = item.bottleneck
    if b is None:
        return "", None
    figures = products.get(b.product_id)
    unit = figures.unit if figures else "unit"
    if figures is not None and not figures.is_active:
        sentence = f"{b.product_name} is inactive, so none of it can be sold"
    else:
        sentence = (
            f"{b.product_name} has {_amount(b.current_stock, unit)} in stock, "
            f"{_amount(b.quantity_per_package, unit)} needed per package"
        )
    others = [products[p].product_name for p in item.limiting_product_ids[1:] if p in products]
    if others:
        sentence += f" (also limited by {', '.join(others)})"
    data = {
        "product_id": str(b.product_id),
        "product_name": b.product_name,
        "current_stock": _number(b.current_stock),
        "quantity_per_package": _number(b.quantity_per_package),
        "unit": unit,
    }
    return sentence, data


def _package_data(item: PackageAvailability, bottleneck: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "package_id": str(item.package_id),
        "package_name": item.package_name,
        "status": item.status.value,
        "max_sellable": item.max_sellable,
        "baseline": item.baseline,
        "bottleneck": bottleneck,
        "limiting_product_ids": [str(p) for p in item.limiting_product_ids],
    }


def package_alerts(
    snapshot: Iterable[PackageAvailability],
    products: Mapping[UUID, NamedProduct],
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
        build = partial(_package_draft, kind, item, products, settings)
        alerts.append(Alert(CooldownKey(kind, item.package_id), build))
    return alerts


def package_drafts(
    snapshot: Iterable[PackageAvailability],
    products: Mapping[UUID, NamedProduct],
    settings: RuleSettings,
) -> list[NotificationDraft]:
    """`package_alerts`, written out."""
    return [alert.draft() for alert in package_alerts(snapshot, products, settings)]


def _package_draft(
    kind: NotificationType,
    item: PackageAvailability,
    products: Mapping[UUID, NamedProduct],
    settings: RuleSettings,
) -> NotificationDraft:
    cause, bottleneck = _bottleneck_sentence(item, products)
    data = _package_data(item, bottleneck)
    if kind is NotificationType.PACKAGE_UNAVAILABLE:
        return NotificationDraft(
            type=kind,
            priority=Priority.URGENT,
            reference_type=ReferenceType.PACKAGE,
            reference_id=item.package_id,
            title=f"{item.package_name} cannot be sold",
            message=f"{item.package_name} cannot be sold: {cause}.",
            data=data,
        )
    threshold = settings.package_low_stock_threshold
    limit = Fraction(threshold) * (item.baseline or 0)
    return NotificationDraft(
        type=kind,
        priority=Priority.HIGH,
        reference_type=ReferenceType.PACKAGE,
        reference_id=item.package_id,
        title=f"{item.package_name} is running low",
        message=(
            f"Only {item.max_sellable} {item.package_name} can be sold, "
            f"below {_percent(threshold)} of the normal {item.baseline}: {cause}."
        ),
        data={**data, "threshold": _number(threshold), "low_stock_limit": _number(limit, 4)},
    )


def bottleneck_alerts(
    snapshot: Iterable[PackageAvailability],
    products: Mapping[UUID, NamedProduct],
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
        build = partial(_bottleneck_draft, product_id, name, figures, items, settings)
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


def bottleneck_drafts(
    snapshot: Iterable[PackageAvailability],
    products: Mapping[UUID, NamedProduct],
    settings: RuleSettings,
) -> list[NotificationDraft]:
    """`bottleneck_alerts`, written out."""
    return [alert.draft() for alert in bottleneck_alerts(snapshot, products, settings)]


def _bottleneck_draft(
    product_id: UUID,
    name: str,
    figures: NamedProduct | None,
    items: list[PackageAvailability],
    settings: RuleSettings,
) -> NotificationDraft:
    items = sorted(items, key=lambda i: (i.package_name, str(i.package_id)))
    listed = ", ".join(
        f"{i.package_name} ({_STATUS_WORDS[i.status]}, {i.max_sellable} sellable)" for i in items
    )
    stock = (
        f" {name} has {_amount(figures.current_stock, figures.unit)} in stock."
        if figures and figures.is_active
        else f" {name} is inactive."
        if figures
        else ""
    )
    return NotificationDraft(
        type=NotificationType.PACKAGE_BOTTLENECK,
        priority=Priority.URGENT,
        reference_type=ReferenceType.PRODUCT,
        reference_id=product_id,
        title=f"{name} is limiting {len(items)} packages",
        message=(
            f"{name} is the limiting component of {len(items)} packages that are "
            f"unavailable or low: {listed}.{stock} Restock {name} to sell them again."
        ),
        data={
            "product_id": str(product_id),
            "product_name": name,
            "current_stock": _number(figures.current_stock) if figures else None,
            "unit": figures.unit if figures else None,
            "min_packages": settings.bottleneck_min_packages,
            "affected_package_count": len(items),
            "affected_packages": [
                {
                    "package_id": str(i.package_id),
                    "package_name": i.package_name,
                    "status": i.status.value,
                    "max_sellable": i.max_sellable,
                    "baseline": i.baseline,
                }
                for i in items
            ],
        },
    )


def days_until_stockout(figures: ProductFigures, lookback_days: int) -> Fraction | None:
    """Stock / average daily usage, exactly; None when nothing was used or nothing is left."""
    if figures.usage <= 0 or figures.current_stock <= 0:
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
        build = partial(_stockout_draft, figures, days, settings, now)
        alert = Alert(CooldownKey(NotificationType.STOCKOUT_PREDICTED, figures.product_id), build)
        ranked.append(((figures.product_name, str(figures.product_id)), alert))
    return [alert for _, alert in sorted(ranked, key=lambda pair: pair[0])]


def stockout_drafts(
    products: Iterable[ProductFigures], settings: RuleSettings, now: datetime
) -> list[NotificationDraft]:
    """`stockout_alerts`, written out."""
    return [alert.draft() for alert in stockout_alerts(products, settings, now)]


def _stockout_draft(
    figures: ProductFigures, days: Fraction, settings: RuleSettings, now: datetime
) -> NotificationDraft:
    lookback = settings.stockout_lookback_days
    daily = Fraction(figures.usage) / lookback
    # Whole seconds are plenty for a date; the decision was made exactly.
    when = now + timedelta(seconds=int(days * _SECONDS_PER_DAY))
    shown = _number(days, 1)
    shown_days = f"{shown} day" if shown == 1 else f"{shown} days"
    unit = figures.unit
    return NotificationDraft(
        type=NotificationType.STOCKOUT_PREDICTED,
        priority=Priority.HIGH,
        reference_type=ReferenceType.PRODUCT,
        reference_id=figures.product_id,
        title=f"{figures.product_name} runs out in about {shown_days}",
        message=(
            f"{figures.product_name} will run out in about {shown_days} "
            f"(around {when.date().isoformat()}): "
            f"{_amount(figures.current_stock, unit)} in stock, "
            f"{_amount(_decimal(daily, 2), unit)} used per day over the last "
            f"{lookback} days. Reorder before then."
        ),
        data={
            "product_id": str(figures.product_id),
            "product_name": figures.product_name,
            "unit": unit,
            "current_stock": _number(figures.current_stock),
            "usage": _number(figures.usage),
            "lookback_days": lookback,
            "avg_daily_usage": _number(daily, 4),
            "days_until_stockout": _number(days, 2),
            "prediction_days": _number(settings.stockout_prediction_days),
            "predicted_stockout_date": when.date().isoformat(),
            "predicted_stockout_at": when.isoformat(),
        },
    )


def _decimal(value: Fraction, places: int) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN).normalize()


def evaluate(
    snapshot: Sequence[PackageAvailability],
    products: Sequence[ProductFigures],
    settings: RuleSettings,
    now: datetime,
    *,
    named: Mapping[UUID, ProductDetails] | None = None,
) -> Evaluation:
    """Every alert one monitor run calls for: packages (by name, id), bottlenecks, stockouts.

    `products` are the figures the stockout rule judges; package alerts also name the products
    in `named` (the limiting ones), whose usage they do not need.
    """
    by_id: dict[UUID, NamedProduct] = {p.product_id: p for p in products}
    by_id.update(named or {})
    packages = package_alerts(snapshot, by_id, settings)
    bottlenecks = bottleneck_alerts(snapshot, by_id, settings)
    stockouts = stockout_alerts(products, settings, now)
    return Evaluation(
        alerts=(*packages, *bottlenecks, *stockouts),
        packages_checked=sum(1 for i in snapshot if i.status in _EVALUATED),
        products_checked=sum(1 for p in products if p.is_active),
        bottlenecks_detected=len(bottlenecks),
        stockouts_predicted=len(stockouts),
    )
