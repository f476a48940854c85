"""What a delivered message says about one notification, before any channel's markup: its
headline, its figures labelled, what to do, where to read more.

Pure. Everything here is plain, unescaped text taken from the notification (its title,
message and `data`, see rules/alert_texts.py and rules/episodes.py): each channel escapes it
for its own markup. `data` is read defensively: a figure that is missing is left out, so an
older row or a manual check's notification still renders.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from inventory.rules.alert_types import NotificationType, Priority
from inventory.rules.delivery_types import Links, MessageNotification
from inventory.rules.episodes import duration_text

Facts = tuple[tuple[str, str], ...]  # (label, value), in the order shown

# A bottleneck may limit hundreds of packages: a message names this many and counts the rest.
LISTED_PACKAGES = 10


@dataclass(frozen=True, slots=True)
class Explanation:
    """One notification told for a reader: `summary` says what and why (the notification's
    own message), `facts` the figures, `action` what to do."""

    headline: str
    summary: str
    facts: Facts
    items_heading: str
    items: tuple[str, ...]  # e.g. the packages a bottleneck limits
    more_items: int  # items not listed
    action: str
    link: str | None


def priority_label(priority: Priority) -> str:
    return priority.value.capitalize()


def subject_label(n: MessageNotification) -> str:
    """What a subject starts with: 'Resolved' for an episode's end, else the priority."""
    if n.type is NotificationType.ALERT_RESOLVED:
        return "Resolved"
    return priority_label(n.priority)


def counted(total: int) -> str:
    """'1 inventory notification', '23 inventory notifications'."""
    return f"{total} inventory notification" + ("" if total == 1 else "s")


def one_line(text: str, limit: int) -> str:
    """`text` on one line (control characters and runs of space as one space), at most `limit`
    characters with an ellipsis when cut."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def notification_url(links: Links, notification_id: UUID) -> str | None:
    """The notification in the API (`GET /api/notifications/{id}`) when its base URL is known."""
    if not links.api_base_url:
        return None
    return f"{links.api_base_url.rstrip('/')}/api/notifications/{notification_id}"


def inbox_url(links: Links) -> str | None:
    if not links.api_base_url:
        return None
    return f"{links.api_base_url.rstrip('/')}/api/notifications"


def figure(value: Any) -> str | None:
    """A figure from `data` as shown: 3, 2.5, 0.3571 (never 2.5000 or 1e+16); None if absent."""
    if value is None or isinstance(value, Mapping | list | tuple):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return format(exact.normalize(), "f")


def _amount(value: Any, unit: Any) -> str | None:
    shown = figure(value)
    if shown is None or unit in (None, "", "unit"):
        return shown
    return f"{shown} {unit}"


def _when(value: Any) -> str | None:
    """An ISO instant from `data` as a clock reading; other text as it is."""
    if not isinstance(value, str):
        return figure(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return clock(moment) if moment.tzinfo else value


def _name(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return str(value) if value not in (None, "") else None


def _facts(*pairs: tuple[str, str | None]) -> Facts:
    return tuple((label, value) for label, value in pairs if value is not None)


def _joined(*parts: str | None) -> str:
    return ", ".join(p for p in parts if p)


def _limiting(data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The package's limiting product and its figures: ('Corona', 'Corona: 3 in stock, 5 needed
    per package')."""
    b = data.get("bottleneck")
    if not isinstance(b, Mapping) or not _name(b, "product_name"):
        return None, None
    product = str(b["product_name"])
    unit = b.get("unit")
    stock = _amount(b.get("current_stock"), unit)
    needed = _amount(b.get("quantity_per_package"), unit)
    shown = _joined(stock and f"{stock} in stock", needed and f"{needed} needed per package")
    return product, f"{product}: {shown}" if shown else product


def _percent(threshold: Any) -> str | None:
    """0.2 as '20%'."""
    if not isinstance(threshold, int | float | Decimal) or isinstance(threshold, bool):
        return None
    return f"{figure(Decimal(str(threshold)) * 100)}%"


def _sellable(data: Mapping[str, Any], noun: str = "") -> str | None:
    """'0 sellable (normally 20)'."""
    sellable, baseline = figure(data.get("max_sellable")), figure(data.get("baseline"))
    if sellable is None:
        return None
    return f"{sellable}{noun}" + (f" (normally {baseline})" if baseline is not None else "")


def _package(n: MessageNotification) -> tuple[Facts, str]:
    data = n.data
    package = _name(data, "package_name") or "the package"
    product, limiting = _limiting(data)
    limiting_ids = data.get("limiting_product_ids")
    count = len(limiting_ids) if isinstance(limiting_ids, list | tuple) else 0
    limit, share = figure(data.get("low_stock_limit")), _percent(data.get("threshold"))
    facts = _facts(
        ("Package", _name(data, "package_name")),
        ("Can be sold", _sellable(data)),
        ("Low-stock limit", limit and (f"{limit} ({share} of normal)" if share else limit)),
        ("Limiting product", limiting),
        ("Limiting products", str(count) if count > 1 else None),
    )
    if product is None:
        return facts, f"Check the stock of the components of {package}."
    if n.type is NotificationType.PACKAGE_UNAVAILABLE:
        return facts, f"Restock {product} so {package} can be sold again."
    return facts, f"Restock {product} before {package} runs out."


def _affected(data: Mapping[str, Any]) -> tuple[str, ...]:
    listed = data.get("affected_packages")
    if not isinstance(listed, list | tuple):
        return ()
    lines = []
    for item in listed:
        if isinstance(item, Mapping) and _name(item, "package_name"):
            status = _name(item, "status")
            detail = _joined(status and status.replace("_", " "), _sellable(item, " sellable"))
            name = str(item["package_name"])
            lines.append(f"{name}: {detail}" if detail else name)
    return tuple(lines)


def _bottleneck(data: Mapping[str, Any]) -> tuple[Facts, str]:
    product = _name(data, "product_name") or "the product"
    count = figure(data.get("affected_package_count")) or str(len(_affected(data)))
    facts = _facts(
        ("Product", _name(data, "product_name")),
        ("In stock", _amount(data.get("current_stock"), data.get("unit"))),
        ("Packages limited", count),
    )
    return facts, f"Restock {product}: it limits {count} packages that are unavailable or low."


def _stockout(data: Mapping[str, Any]) -> tuple[Facts, str]:
    product = _name(data, "product_name") or "the product"
    unit = data.get("unit")
    daily, lookback = _amount(data.get("avg_daily_usage"), unit), figure(data.get("lookback_days"))
    days, date = figure(data.get("days_until_stockout")), _name(data, "predicted_stockout_date")
    facts = _facts(
        ("Product", _name(data, "product_name")),
        ("In stock", _amount(data.get("current_stock"), unit)),
        ("Used per day", f"{daily} (last {lookback} days)" if daily and lookback else daily),
        ("Runs out in", days and f"about {days} {'day' if days == '1' else 'days'}"),
        ("Predicted stockout", date),
    )
    return facts, f"Reorder {product} before {date}." if date else f"Reorder {product} soon."


def _resolved(data: Mapping[str, Any]) -> tuple[Facts, str]:
    seconds = data.get("duration_seconds")
    kind = _name(data, "resolved_type")
    lasted = None
    if isinstance(seconds, int | float) and math.isfinite(seconds):
        lasted = duration_text(int(seconds))
    facts = _facts(
        ("Resolved alert", kind.replace("_", " ") if kind else None),
        ("Lasted", lasted),
        ("Started", _when(data.get("started_at"))),
        ("Clear since", _when(data.get("cleared_at"))),
    )
    return facts, "Nothing to do: the condition has cleared."


def explain(n: MessageNotification, links: Links) -> Explanation:
    """What a message about `n` says, by its type."""
    data = n.data
    items: tuple[str, ...] = ()
    if n.type in (NotificationType.PACKAGE_UNAVAILABLE, NotificationType.PACKAGE_LOW_STOCK):
        facts, action = _package(n)
    elif n.type is NotificationType.PACKAGE_BOTTLENECK:
        facts, action = _bottleneck(data)
        items = _affected(data)
    elif n.type is NotificationType.STOCKOUT_PREDICTED:
        facts, action = _stockout(data)
    else:
        facts, action = _resolved(data)
    return Explanation(
        headline=n.title,
        summary=n.message,
        facts=facts,
        items_heading="Packages it limits",
        items=items[:LISTED_PACKAGES],
        more_items=max(0, len(items) - LISTED_PACKAGES),
        action=action,
        link=notification_url(links, n.id),
    )
