"""`python -m devtools.bench --mechanisms`: each tuning mechanism of the monitor, on and off.

Per size: the catalogue, a cold run (every alert sent, the usage base built), one plain warm
run whose summary every later run must give, then per mechanism (devtools/bench_mechanisms.py)
one untimed pair and PAIRS alternating warm runs with and without it, each with a new cooldown
store as in a new Lambda container. Alternating pairs see the same machine speed, so the median
of the pairs' ratios is reported beside the ratio of the medians.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools.bench_measure import median
from devtools.bench_mechanisms import MECHANISMS, Findings, Mechanism, SwitchContext
from devtools.bench_monitor import MonitorRun, run_monitor_counted
from devtools.bench_report import size_header
from devtools.bench_services import (
    BenchServices,
    dynamodb_client,
    fresh_catalogue,
    note,
    recreate_cooldown_table,
)
from devtools.template import Template
from devtools.terminal_tables import format_table

PAIRS = 5
WARM_UP_PAIRS = 1
READ_UNITS_NOTE = (
    "Read units counted from the answers: 1 per 4 KB of each item read (consistent reads), at "
    "least 1 per key. DynamoDB charges a projected read on the full item size; cooldown entry "
    "items are far below 4 KB, so 1 unit each either way."
)


def _run_side(
    mechanism: Mechanism, on: bool, context: SwitchContext, now: datetime
) -> tuple[MonitorRun, Findings]:
    with ExitStack() as stack:
        findings = Findings()
        if mechanism.observe is not None:
            findings = stack.enter_context(mechanism.observe(context, on))
        if not on:
            stack.enter_context(mechanism.switch_off(context))
        run = run_monitor_counted(now)
    # The observer checked the run on leaving: outside the run's own timing.
    return run, findings


def _summary_problems(run: MonitorRun, reference: dict[str, Any], side: str) -> list[str]:
    if run.summary == reference:
        return []
    differing = sorted(
        k for k in {*run.summary, *reference} if run.summary.get(k) != reference.get(k)
    )
    return [
        f"{side}: summary differs from the plain warm run in "
        + ", ".join(f"{k} {run.summary.get(k)!r} != {reference.get(k)!r}" for k in differing)
    ]


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 2) if denominator else None


def _side_figures(runs: Sequence[MonitorRun]) -> dict[str, Any]:
    return {
        "median_ms": median([run.duration_ms for run in runs]),
        "runs_ms": [run.duration_ms for run in runs],
        "cooldown_store_ms": median([run.store_ms for run in runs]),
        "read_units": statistics.median(run.dynamodb_read_units for run in runs),
        "dynamodb_requests": statistics.median(run.dynamodb_requests for run in runs),
        "dynamodb_operations": runs[-1].dynamodb_operations,
        "sql_statements": runs[-1].sql_statements,
    }


def measure_mechanism(
    mechanism: Mechanism,
    context: SwitchContext,
    now: datetime,
    reference: dict[str, Any],
    pairs: int,
) -> dict[str, Any]:
    with_runs: list[MonitorRun] = []
    without_runs: list[MonitorRun] = []
    problems: list[str] = []
    notes: list[str] = []
    for index in range(WARM_UP_PAIRS + pairs):
        for on, kept in ((True, with_runs), (False, without_runs)):
            run, found = _run_side(mechanism, on, context, now)
            side = "with" if on else "without"
            problems += [f"{side}: {problem}" for problem in found.problems]
            notes += [f"{side}: {found_note}" for found_note in found.notes]
            problems += _summary_problems(run, reference, side)
            if index >= WARM_UP_PAIRS:
                kept.append(run)
    with_side, without_side = _side_figures(with_runs), _side_figures(without_runs)
    paired = [
        without.duration_ms / with_.duration_ms
        for with_, without in zip(with_runs, without_runs, strict=True)
        if with_.duration_ms
    ]
    return {
        "without_means": mechanism.without,
        "with": with_side,
        "without": without_side,
        "ratio": _ratio(without_side["median_ms"], with_side["median_ms"]),
        "paired_ratio": round(statistics.median(paired), 2) if paired else None,
        "read_unit_ratio": _ratio(without_side["read_units"], with_side["read_units"]),
        "problems": problems,
        "notes": notes,
    }


def bench_mechanisms_at(
    template: Template,
    services: BenchServices,
    packages: int,
    pairs: int = PAIRS,
    only: tuple[str, ...] = (),
) -> dict[str, Any]:
    unknown = set(only) - {mechanism.name for mechanism in MECHANISMS}
    if unknown:
        raise ValueError(f"unknown mechanisms: {', '.join(sorted(unknown))}")
    now = datetime.now(UTC)
    generation_ms, rows = fresh_catalogue(services, packages, now)
    note(f"{packages:,} packages: cold monitor run (warms the cooldown table)")
    recreate_cooldown_table(template, services)
    cold = run_monitor_counted(now)
    # Every warm run at one `now`: nothing a warm run does changes what the next one finds.
    warm_now = now + timedelta(minutes=1)
    reference = dict(run_monitor_counted(warm_now).summary)
    problems: list[str] = []
    notes: list[str] = []
    if reference.get("notifications_sent") != 0 or reference.get("errors"):
        problems.append(f"the plain warm run is not warm: {reference}")
    context = SwitchContext(
        database_url=services.database_url,
        cooldown_table=services.cooldown_table,
        dynamodb_client=dynamodb_client(services),
        rewarm=lambda: run_monitor_counted(warm_now),
    )
    figures: dict[str, Any] = {}
    for mechanism in MECHANISMS:
        if only and mechanism.name not in only:
            continue
        note(f"{packages:,} packages: {mechanism.name}, {pairs} pairs with / without")
        figures[mechanism.name] = measure_mechanism(mechanism, context, warm_now, reference, pairs)
        problems += [f"{mechanism.name} {p}" for p in figures[mechanism.name]["problems"]]
        notes += [f"{mechanism.name} {n}" for n in figures[mechanism.name]["notes"]]
    return {
        **size_header(packages, rows, generation_ms),
        "cold_duration_ms": cold.duration_ms,
        "cold_notifications_sent": cold.summary.get("notifications_sent"),
        "warm_summary": reference,
        "pairs": pairs,
        "warm_up_pairs": WARM_UP_PAIRS,
        "read_units_note": READ_UNITS_NOTE,
        "mechanisms": figures,
        "problems": problems,
        "notes": notes,
    }


def _number(value: float | None, places: int = 1) -> str:
    if value is None:
        return "-"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{places}f}"


def render_mechanisms(result: dict[str, Any]) -> str:
    headers = [
        "mechanism",
        "with ms",
        "without ms",
        "ratio",
        "paired ratio",
        "RCU with",
        "RCU without",
        "RCU ratio",
        "DynamoDB requests with/without",
    ]
    rows = []
    for name, figures in result["mechanisms"].items():
        with_side, without_side = figures["with"], figures["without"]
        rows.append(
            [
                name,
                _number(with_side["median_ms"]),
                _number(without_side["median_ms"]),
                _number(figures["ratio"], 2),
                _number(figures["paired_ratio"], 2),
                _number(with_side["read_units"]),
                _number(without_side["read_units"]),
                _number(figures["read_unit_ratio"], 2),
                f"{_number(with_side['dynamodb_requests'])} / "
                f"{_number(without_side['dynamodb_requests'])}",
            ]
        )
    lines = [
        f"{result['packages']:,} packages: cold run {result['cold_duration_ms']:,} ms "
        f"({result['cold_notifications_sent']:,} sent); per mechanism {result['pairs']} "
        "alternating warm pairs (with, without), medians of the monitor's duration_ms",
        format_table(headers, rows, right=range(1, len(headers))),
        "ratio = without / with (medians); paired ratio = median of the pairs' ratios.",
        READ_UNITS_NOTE,
        "without:",
        *(
            f"  {name}: {figures['without_means']}"
            for name, figures in result["mechanisms"].items()
        ),
    ]
    lines += [f"note: {found_note}" for found_note in result["notes"]]
    if result["problems"]:
        lines.append("PROBLEMS (a switch must not change the answer):")
        lines += [f"  {problem}" for problem in result["problems"]]
    return "\n".join(lines)
