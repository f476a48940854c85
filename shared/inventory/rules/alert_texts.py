"""What an alert says: the title, message and figures (`data`) of each notification type.

Pure. The decision was made exactly in rules/alerts.py; here numbers are only shown: rounded
for the message, JSON numbers in `data`. Written only for alerts whose cooldown was claimed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any
from uuid import UUID

from inventory.models.numbers import json_number
from inventory.rules.alert_types import NotificationDraft, NotificationType, Priority, ReferenceType
from inventory.rules.availability import PackageAvailability, Status

if TYPE_CHECKING:
    from inventory.rules.alerts import ProductFigures, RuleSettings

_SECONDS_PER_DAY = 86_400
_STATUS_WORDS = {Status.UNAVAILABLE: "unavailable", Status.LOW_STOCK: "low"}


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
    item: PackageAvailability, products: Mapping[UUID, ProductFigures]
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


def package_draft(
    kind: NotificationType,
    item: PackageAvailability,
    products: Mapping[UUID, ProductFigures],
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


def bottleneck_draft(
    product_id: UUID,
    name: str,
    figures: ProductFigures | None,
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


def stockout_draft(
    figures: ProductFigures, days: Fraction, settings: RuleSettings, now: datetime
) -> NotificationDraft:
    lookback = settings.stockout_lookback_days
    usage = figures.usage or Decimal(0)  # a predicted stockout always has a usage
    daily = Fraction(usage) / lookback
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
            "usage": _number(usage),
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
