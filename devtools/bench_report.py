"""The bench's printed table (one column per size) and the machine it ran on."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from devtools.bench_availability import PAGE_SIZE


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "python_version": platform.python_version(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "processor": _cpu_model(),
    }


def size_header(packages: int, rows: Any, generation_ms: float) -> dict[str, Any]:
    """What every result of one catalogue size starts with: its size, machine and services."""
    return {
        "packages": packages,
        **machine(),
        "postgres": "embedded, fsync off, 127.0.0.1",
        "dynamodb": "moto server process, 127.0.0.1",
        "rows": rows,
        "generation_ms": generation_ms,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return str(platform.processor())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render_table(results: Sequence[dict[str, Any]]) -> str:
    """One column per size, one line per figure."""

    def line(label: str, pick: Callable[[dict[str, Any]], Any]) -> list[str]:
        return [label, *(_cell(pick(r)) for r in results)]

    lines = [
        line("active packages", lambda r: r["packages"]),
        line(
            "products / package items",
            lambda r: f"{r['rows']['products']:,} / {r['rows']['package_items']:,}",
        ),
        line("order items", lambda r: r["rows"]["order_items"]),
        line(
            "unavailable / low packages",
            lambda r: (
                f"{r['package_status'].get('unavailable', 0):,}"
                f" / {r['package_status'].get('low_stock', 0):,}"
            ),
        ),
        line("bare SQL max sellable (ms)", lambda r: r["bare_sql"]["median_ms"]),
        line(
            "bare SQL + usage, side by side (ms)",
            lambda r: r["bare_sql_with_usage"]["median_ms"],
        ),
        line("monitor, cooldown warm (ms)", lambda r: r["monitor"]["warm_duration_ms"]),
        line("  ratio monitor / bare SQL", lambda r: r["monitor"]["ratio_to_bare_sql"]),
        line("  same, paired runs (median)", lambda r: r["monitor"]["ratio_to_paired_bare_sql"]),
        line(
            "  ratio monitor / bare SQL + usage",
            lambda r: r["monitor"]["ratio_to_bare_sql_with_usage"],
        ),
        line("  in the cooldown store (ms)", lambda r: r["monitor"]["warm_cooldown_store_ms"]),
        line("  without the store (ms)", lambda r: r["monitor"]["warm_without_store_ms"]),
        line(
            "  ratio without store / bare SQL",
            lambda r: r["monitor"]["ratio_without_store_to_bare_sql"],
        ),
        line("monitor, cooldown cold (ms)", lambda r: r["monitor"]["cold_duration_ms"]),
        line("  notifications sent (cold)", lambda r: r["monitor"]["cold_notifications_sent"]),
        line(
            "  first run within the timeout",
            lambda r: _within_timeout_cell(r["monitor"]["cold_within_timeout"]),
        ),
        line(
            "SQL round trips (warm / cold)",
            lambda r: (
                f"{r['monitor']['warm_sql_statements']} / {r['monitor']['cold_sql_statements']}"
            ),
        ),
        line(
            "DynamoDB requests (warm / cold)",
            lambda r: (
                f"{r['monitor']['warm_dynamodb_requests']:,} / "
                f"{r['monitor']['cold_dynamodb_requests']:,}"
            ),
        ),
        line("open episodes (warm runs)", lambda r: r["monitor"]["episodes"]["open_episodes"]),
        line(
            "  run resolving: episodes, ms",
            lambda r: (
                f"{r['monitor']['episodes']['resolved']:,}, "
                f"{r['monitor']['episodes']['resolving_run_ms']:,}"
            ),
        ),
        line(
            "  of which in the cooldown store (ms)",
            lambda r: r["monitor"]["episodes"]["resolving_store_ms"],
        ),
        line(
            "  its SQL / DynamoDB requests",
            lambda r: (
                f"{r['monitor']['episodes']['resolving_sql_statements']} / "
                f"{r['monitor']['episodes']['resolving_dynamodb_requests']:,}"
            ),
        ),
        line(
            "  next warm run: ms, DynamoDB",
            lambda r: (
                f"{r['monitor']['episodes']['next_warm_run_ms']:,}, "
                f"{r['monitor']['episodes']['next_warm_dynamodb_requests']:,}"
            ),
        ),
        line("monitor peak RSS (MB)", lambda r: r["monitor_peak_rss_mb"]),
        line("availability first call (ms)", lambda r: r["availability_handler"]["first_call_ms"]),
        line(
            "availability whole list: status, MB",
            lambda r: (
                f"{r['availability_handler']['first_status']}, "
                f"{r['availability_handler']['response_bytes'] / 1e6:,.2f}"
            ),
        ),
        line("availability warm call (ms)", lambda r: r["availability_handler"]["warm_call_ms"]),
        line(
            "whole list after a stock change: status, ms, SQL",
            lambda r: _after_a_change_cell(r["availability_handler"].get("after_a_change")),
        ),
        line("availability function peak RSS (MB)", lambda r: r.get("availability_peak_rss_mb")),
        line("availability 304 call (ms)", lambda r: r["availability_handler"]["not_modified_ms"]),
        line(
            f"page of {PAGE_SIZE:,}: warm / 304 (ms)",
            lambda r: (
                f"{_cell(r['availability_handler']['page']['warm_call_ms'])} / "
                f"{_cell(r['availability_handler']['page']['not_modified_ms'])}"
            ),
        ),
        line(
            "every page, once (ms)",
            lambda r: r["availability_handler"]["page"]["every_page_ms"],
        ),
        line(
            "a page after a stock change (ms)",
            lambda r: r["availability_handler"]["page"]["after_a_change_ms"],
        ),
    ]
    functions = sorted({name for r in results for name in r["cold_starts"]})
    for name in functions:
        cells = [_cold_start_cell(r["cold_starts"].get(name)) for r in results]
        lines.append([f"{name} import + 1st (ms)", *cells])
    widths = [max(len(row[i]) for row in lines) for i in range(len(lines[0]))]
    rendered = []
    for row in lines:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        rendered.append("  ".join(cells))
    return "\n".join(rendered)


def _after_a_change_cell(figures: dict[str, Any] | None) -> str:
    if not figures:
        return "-"
    return f"{figures['status']}, {_cell(figures['ms'])}, {figures['statements']}"


def _within_timeout_cell(figures: dict[str, Any]) -> str:
    if figures["fits"]:
        return "fits"
    return (
        f"{figures['first_run_sent']:,} sent, {figures['first_run_deferred']:,} deferred, "
        f"then {figures['next_run_sent']:,}"
    )


def _cold_start_cell(figures: dict[str, Any] | None) -> str:
    if not figures:
        return "-"
    if "error" in figures:
        return "error"
    return f"{figures['import_ms']:,.0f} + {figures['invoke_ms']:,.0f}"
