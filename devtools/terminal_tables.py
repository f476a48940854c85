"""The local run's picture for people: notifications and availability as aligned tables."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

# What a bar manager calls each availability status.
STATUS_WORDS = {
    "unavailable": "Sold out",
    "low_stock": "Running low",
    "available": "OK",
    "no_components": "No recipe",
}
_PRIORITY_ORDER = {"urgent": 0, "high": 1, "medium": 2, "low": 3}
_STATUS_ORDER = {"unavailable": 0, "low_stock": 1, "available": 2, "no_components": 3}


def format_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[int] = ()
) -> str:
    """Columns padded to their widest cell; the columns in `right` (numbers) right-aligned."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        padded = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def _number(value: Any) -> str:
    if value is None:
        return "-"
    number = Decimal(str(value))
    return f"{number.normalize():f}" if number != number.to_integral_value() else str(int(number))


def availability_table(items: Sequence[dict[str, Any]]) -> str:
    """One line per package, the ones that need attention first."""
    ordered = sorted(
        items, key=lambda i: (_STATUS_ORDER.get(i["status"], 9), i["package_name"].lower())
    )
    rows = []
    for item in ordered:
        bottleneck = item.get("bottleneck")
        limited_by = (
            f"{bottleneck['product_name']} ({_number(bottleneck['current_stock'])} in stock, "
            f"{_number(bottleneck['quantity_per_package'])} each)"
            if bottleneck
            else ""
        )
        rows.append(
            (
                item["package_name"],
                STATUS_WORDS.get(item["status"], item["status"]),
                _number(item["max_sellable"]),
                _number(item.get("baseline")),
                limited_by,
            )
        )
    return format_table(
        ("Package", "Status", "Can sell", "Normally", "Limited by"), rows, right=(2, 3)
    )


def notifications_table(notifications: Sequence[dict[str, Any]]) -> str:
    ordered = sorted(
        notifications,
        key=lambda n: (_PRIORITY_ORDER.get(n["priority"], 9), n["type"], n["title"]),
    )
    rows = [(n["priority"].upper(), n["type"], n["title"]) for n in ordered]
    return format_table(("Priority", "Type", "Notification"), rows)


def inbox_table(items: Sequence[dict[str, Any]]) -> str:
    """An inbox page as the API lists it (newest first): when, priority, type, title."""
    rows = [
        (
            str(item["created_at"])[11:19],
            item["priority"].upper(),
            item["type"],
            item["title"],
            "unread" if item.get("read_at") is None else "read",
        )
        for item in items
    ]
    return format_table(("Time", "Priority", "Type", "Notification", "State"), rows)


def monitor_summary_line(result: dict[str, Any]) -> str:
    summary = result.get("summary") or {}
    parts = [
        f"{summary.get('packages_checked', 0)} packages checked",
        f"{summary.get('notifications_sent', 0)} notifications sent",
        f"{summary.get('bottlenecks_detected', 0)} bottlenecks",
    ]
    if summary.get("notifications_suppressed"):
        parts.append(f"{summary['notifications_suppressed']} held back by cooldown")
    if summary.get("episodes_resolved"):
        parts.append(f"{summary['episodes_resolved']} episodes resolved")
    errors = summary.get("errors") or []
    if errors:
        parts.append(f"{len(errors)} errors: {'; '.join(map(str, errors))}")
    state = "ok" if result.get("success") else "FAILED"
    return f"monitor {state} in {result.get('duration_ms', '?')} ms: " + ", ".join(parts)
