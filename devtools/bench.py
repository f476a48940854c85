"""`make bench`: the service's real code paths on synthetic catalogues of growing size.

Usage: python -m devtools.bench [--sizes 1000,10000,100000] [--output .bench/results.json]
       python -m devtools.bench --mechanisms [--sizes 100000]

Starts a throwaway embedded PostgreSQL (fsync off: the data is regenerated every run, so
durability would only add disk waits that a production server would not show in these reads)
and moto's DynamoDB server in a process of its own, generates each catalogue inside
PostgreSQL (devtools/bench_data.py) and measures, per size:

- the bare SQL aggregation of every active package's max sellable (the floor any
  implementation pays: one GROUP BY, rows fetched into Python as the monitor fetches its own,
  at its work_mem and with the cyclic GC paused), median of several runs; and the same next to
  the bare usage aggregation the stockout rule needs, side by side on two connections (the
  floor of everything the monitor reads);
- the monitor (`run_monitor`, the real service) against the moto cooldown table: once with a
  cold table (every alert is sent), then with the table warm (every alert suppressed, median
  of five runs, each with a new store as in a new Lambda container, each right after a bare
  SQL run it is paired with); its SQL statements and DynamoDB requests per run;
- the availability handler (functions/packages_availability, the real `lambda_handler` with
  events/packages_availability.json): first call (new connection, nothing cached), warm call
  and the 304 call with If-None-Match (medians);
- every template function's import and first invocation in a fresh `python -I` process, and
  the peak resident memory of the monitor function's process.

It prints a table and writes the same figures to .bench/results.json (one object per size).
It asserts nothing about time: figures, not pass/fail. Nothing it generates is kept.

With --mechanisms it measures instead each tuning mechanism of the monitor switched on and off
in alternating warm runs (devtools/bench_mechanism_pairs.py), into .bench/mechanisms.json; it
fails when a switch changes the monitor's answer.

Modules: bench_services (PostgreSQL, moto), bench_floor (the bare SQL), bench_monitor,
bench_availability, bench_coldstarts, bench_statements and bench_dynamodb (counting),
bench_report (the table), bench_mechanisms (the switches) and bench_mechanism_pairs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from devtools.bench_availability import availability_spec, measure_availability_handler
from devtools.bench_coldstarts import measure_cold_starts
from devtools.bench_delivery import measure_delivery
from devtools.bench_floor import measure_bare_sql, measure_bare_sql_with_usage
from devtools.bench_mechanism_pairs import bench_mechanisms_at, render_mechanisms
from devtools.bench_monitor import WARM_RUNS, measure_episodes, measure_monitor
from devtools.bench_report import machine, render_table, size_header
from devtools.bench_sales import CONCURRENT_SECONDS, SINGLE_SALES, measure_sales, render_sales
from devtools.bench_services import (
    BenchServices,
    bench_services,
    forget_other_functions_state,
    fresh_catalogue,
    note,
    reset_service_state,
)
from devtools.template import ROOT, Template, load_template

DEFAULT_SIZES = (1_000, 10_000, 100_000)
DEFAULT_OUTPUT = ROOT / ".bench" / "results.json"
MECHANISMS_OUTPUT = ROOT / ".bench" / "mechanisms.json"
DELIVERY_OUTPUT_NAME = "delivery.json"  # beside the results file
SALES_OUTPUT_NAME = "sales.json"  # beside the results file


def render_delivery(figures: dict[str, Any]) -> str:
    steady, storm = figures["steady"], figures["storm_10000"]
    lines = ["Delivery (2 subscriptions and the topic; moto's SQS, SES and SNS; a local receiver):"]
    for count in (20, 10_000):
        insert = figures[f"insert_{count}_ms"]
        lines.append(
            f"  insert of {count:,} notifications: {insert['with_trigger']} ms with the outbox "
            f"trigger, {insert['without_trigger']} ms without"
        )
    lines.append(
        f"  {steady['deliveries']} deliveries in {steady['queue_messages']} messages: dispatch "
        f"{steady['dispatch_ms']} ms, sent in {steady['sending_s']} s "
        f"({steady['deliveries_per_second']}/s, {steady['ms_per_message']} ms per message), "
        f"{steady['webhooks_verified']} webhooks verified"
    )
    lines.append(
        f"  storm of 10,000: insert {storm['insert_ms']} ms, {storm['deliveries_enqueued']} "
        f"deliveries enqueued ({storm['dispatch_ms']} ms), sent in {storm['sending_s']} s, "
        f"{storm['webhook_messages']} webhook message(s)"
    )
    return "\n".join(lines)


def _status_counts(database_url: str) -> dict[str, int]:
    from inventory.config import get_settings
    from inventory.data.availability_sql import ACTIVE_PACKAGES, fetch_availability

    with psycopg.connect(database_url, autocommit=True) as connection:
        rows = fetch_availability(
            connection, ACTIVE_PACKAGES, get_settings().package_low_stock_threshold
        )
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status.value] = counts.get(row.status.value, 0) + 1
    return counts


@dataclass
class BenchOptions:
    sizes: tuple[int, ...]
    output: Path
    repeat: int
    cold_starts: bool = True
    mechanisms: bool = False
    only: tuple[str, ...] = ()  # with mechanisms: these alone (default: every one)
    sales_only: bool = False
    sales_count: int = SINGLE_SALES
    sales_seconds: float = CONCURRENT_SECONDS


def bench_size(
    template: Template, services: BenchServices, packages: int, options: BenchOptions
) -> dict[str, Any]:
    now = datetime.now(UTC)
    generation_ms, rows = fresh_catalogue(services, packages, now)
    # Large responses take seconds each: fewer repeats keep the whole run within minutes.
    repeat = options.repeat if packages <= 10_000 else max(1, min(options.repeat, 3))
    note(f"{packages:,} packages: bare SQL")
    bare = measure_bare_sql(services.database_url, max(repeat, WARM_RUNS))
    from inventory.config import get_settings

    lookback_days = get_settings().stockout_lookback_days
    bare_with_usage = measure_bare_sql_with_usage(services.database_url, repeat, now, lookback_days)
    note(f"{packages:,} packages: availability handler")
    availability = measure_availability_handler(template, repeat, services.database_url)
    forget_other_functions_state()
    note(f"{packages:,} packages: monitor (cold, then warm cooldown)")
    monitor = measure_monitor(template, services, repeat, now)
    monitor["ratio_to_bare_sql"] = round(monitor["warm_duration_ms"] / bare["median_ms"], 2)
    monitor["ratio_to_bare_sql_with_usage"] = round(
        monitor["warm_duration_ms"] / bare_with_usage["median_ms"], 2
    )
    # The part this code decides: the run without the cooldown store's calls (moto here).
    own_ms = monitor["warm_duration_ms"] - monitor["warm_cooldown_store_ms"]
    monitor["warm_without_store_ms"] = round(own_ms, 1)
    monitor["ratio_without_store_to_bare_sql"] = round(own_ms / bare["median_ms"], 2)
    cold_starts: dict[str, Any] = {}
    if options.cold_starts:
        note(f"{packages:,} packages: cold starts of every function")
        cold_starts = measure_cold_starts(template, services)
    # Last: the restock it makes changes what every later measurement would see.
    note(f"{packages:,} packages: monitor with open episodes, some resolving")
    monitor["episodes"] = measure_episodes(services.database_url, now)
    monitor_process: dict[str, Any] = next(
        (figures for figures in cold_starts.values() if figures.get("scheduled")), {}
    )
    availability_process: dict[str, Any] = cold_starts.get(
        availability_spec(template).logical_id, {}
    )
    return {
        **size_header(packages, rows, generation_ms),
        "package_status": _status_counts(services.database_url),
        "bare_sql": bare,
        "bare_sql_with_usage": bare_with_usage,
        "monitor": monitor,
        "monitor_peak_rss_mb": monitor_process.get("peak_rss_mb"),
        "availability_handler": availability,
        # Its fresh process's first call is the whole list (or the refusal) at this size.
        "availability_peak_rss_mb": availability_process.get("peak_rss_mb"),
        "cold_starts": cold_starts,
    }


def parse_arguments(argv: Sequence[str]) -> BenchOptions:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="active packages per catalogue, comma-separated (default: %(default)s)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"JSON results file (default: {DEFAULT_OUTPUT.relative_to(ROOT)}, "
        f"with --mechanisms {MECHANISMS_OUTPUT.relative_to(ROOT)})",
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per median (default: 5)")
    parser.add_argument(
        "--no-cold-starts", action="store_true", help="skip the per-function subprocesses"
    )
    parser.add_argument(
        "--mechanisms",
        action="store_true",
        help="measure each tuning mechanism of the monitor on and off instead",
    )
    parser.add_argument(
        "--only",
        default="",
        help="with --mechanisms: a comma-separated list of mechanisms to measure (default: all)",
    )
    parser.add_argument(
        "--sales-only",
        action="store_true",
        help="measure the sales alone (no catalogue sizes, no delivery)",
    )
    parser.add_argument(
        "--sales-count",
        type=int,
        default=SINGLE_SALES,
        help="one client's sales measured (default: %(default)s)",
    )
    parser.add_argument(
        "--sales-seconds",
        type=float,
        default=CONCURRENT_SECONDS,
        help="how long the 8 clients sell, each variant (default: %(default)s)",
    )
    arguments = parser.parse_args(list(argv))
    try:
        sizes = tuple(int(part.replace("_", "")) for part in arguments.sizes.split(",") if part)
    except ValueError:
        parser.error("--sizes takes whole numbers, e.g. 1000,10000")
    if not sizes or min(sizes) < 10:
        parser.error("every size must be at least 10 packages")
    default_output = MECHANISMS_OUTPUT if arguments.mechanisms else DEFAULT_OUTPUT
    return BenchOptions(
        sizes=sizes,
        output=arguments.output or default_output,
        repeat=max(1, arguments.repeat),
        cold_starts=not arguments.no_cold_starts,
        mechanisms=arguments.mechanisms,
        only=tuple(name for name in arguments.only.split(",") if name),
        sales_only=arguments.sales_only,
        sales_count=max(10, arguments.sales_count),
        sales_seconds=max(0.5, arguments.sales_seconds),
    )


def run(options: BenchOptions) -> list[dict[str, Any]]:
    from devtools.local_services import applied_environment

    template = load_template()
    # The layers are /opt/python for every function: `import inventory` as in Lambda.
    for spec in template.functions.values():
        for folder in spec.layer_dirs:
            if str(folder) not in sys.path:
                sys.path.append(str(folder))
    started = time.perf_counter()
    results = []
    with bench_services(template) as services, applied_environment(services.environment):
        note(
            f"PostgreSQL (embedded, fsync off) at {services.database_url}; "
            f"DynamoDB (moto) at {services.dynamodb_endpoint}"
        )
        for packages in () if options.sales_only else options.sizes:
            if options.mechanisms:
                results.append(bench_mechanisms_at(template, services, packages, only=options.only))
            else:
                results.append(bench_size(template, services, packages, options))
        if not options.mechanisms and not options.sales_only:
            delivery = measure_delivery(services)
            delivery_output = options.output.parent / DELIVERY_OUTPUT_NAME
            delivery_output.parent.mkdir(parents=True, exist_ok=True)
            delivery_output.write_text(json.dumps(delivery, indent=2) + "\n")
            print(render_delivery(delivery))
        if not options.mechanisms:
            sales = measure_sales(
                template,
                services,
                single_sales=options.sales_count,
                concurrent_seconds=options.sales_seconds,
            )
            sales_output = options.output.parent / SALES_OUTPUT_NAME
            sales_output.parent.mkdir(parents=True, exist_ok=True)
            sales_output.write_text(json.dumps({**sales, "machine": machine()}, indent=2) + "\n")
            print(render_sales(sales))
        reset_service_state()
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2) + "\n")
    note(f"finished in {time.perf_counter() - started:,.0f} s; figures in {options.output}")
    return results


def main(argv: Sequence[str]) -> int:
    options = parse_arguments(argv)
    results = run(options)
    description = machine()
    print(
        f"{description['cpu_count']} CPUs ({description['processor']}), Python "
        f"{description['python_version']}, {description['machine']}; PostgreSQL embedded with "
        "fsync off, DynamoDB = moto server"
    )
    if not options.mechanisms:
        if results:
            print(render_table(results))
        return 0
    print("\n\n".join(render_mechanisms(result) for result in results))
    # A switch that changes the monitor's answer is a bug, whatever the timings say.
    return 1 if any(result["problems"] for result in results) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
