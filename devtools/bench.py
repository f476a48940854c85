"""`make bench`: the service's real code paths on synthetic catalogues of growing size.

Usage: python -m devtools.bench [--sizes 1000,10000,100000] [--output .bench/results.json]

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
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from devtools.bench_data import CatalogueSize, generate_catalogue
from devtools.template import ROOT, FunctionSpec, Template, load_template

DEFAULT_SIZES = (1_000, 10_000, 100_000)
DEFAULT_OUTPUT = ROOT / ".bench" / "results.json"
EVENTS_DIR = ROOT / "events"
COLDSTART_CHILD = Path(__file__).resolve().parent / "lambda_probe.py"
AVAILABILITY_FUNCTION_DIR = "packages_availability"

# The floor: every active package's max sellable in one GROUP BY, nothing else.
BARE_SQL = """
SELECT pi.package_id,
       greatest(0, floor(min(CASE WHEN p.is_active THEN p.current_stock ELSE 0 END
                             / pi.quantity))) AS max_sellable
FROM packages pk
JOIN package_items pi ON pi.package_id = pk.id
JOIN products p ON p.id = pi.product_id
WHERE pk.is_active
GROUP BY pi.package_id
"""


# What the stockout rule needs besides: every product's usage over the lookback window (direct
# sales plus package sales times the component quantity), nothing filtered. The monitor must
# pay both, so this pair run side by side on two connections is the floor of its SQL.
BARE_USAGE_SQL = """
WITH sold AS (
    SELECT package_id, product_id, sum(quantity) AS quantity
    FROM order_items
    WHERE created_at >= %(since)s AND created_at <= %(until)s
    GROUP BY package_id, product_id
)
SELECT product_id, sum(quantity)
FROM (
    SELECT product_id, quantity FROM sold WHERE product_id IS NOT NULL
    UNION ALL
    SELECT pi.product_id, s.quantity * pi.quantity
    FROM sold s JOIN package_items pi ON pi.package_id = s.package_id
) AS used
GROUP BY product_id
"""


def bench_id(kind: str, index: int) -> uuid.UUID:
    """The id bench_data gives the index-th package or product (md5(...)::uuid)."""
    digest = hashlib.md5(f"bench-{kind}-{index}".encode(), usedforsecurity=False).hexdigest()
    return uuid.UUID(digest)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _median(values: Sequence[float]) -> float:
    return round(statistics.median(values), 1)


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return _ms(time.perf_counter() - started), result


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _note(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Send fd 1 to /dev/null: the service's JSON logs still get written (their cost is part
    of a run) but do not bury the table."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


# --- services --------------------------------------------------------------------------------


@dataclass
class BenchServices:
    database_url: str
    dynamodb_endpoint: str
    cooldown_table: str
    environment: dict[str, str]


@contextmanager
def bench_services(template: Template) -> Iterator[BenchServices]:
    """A throwaway PostgreSQL (fsync off) and a moto server process, stopped at the end."""
    from devtools.local_postgres import LocalPostgres
    from devtools.local_services import LocalServices
    from devtools.migrate import apply_migrations

    workdir = Path(tempfile.mkdtemp(prefix="inventory-bench-"))
    postgres = LocalPostgres(workdir / "pgdata", durable=False)
    port = _free_port()
    # Its own process, as DynamoDB is its own service: moto's request handling must not
    # share this process's interpreter lock with the code being measured.
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = postgres.start()
        endpoint = f"http://127.0.0.1:{port}"
        _wait_for_port(port)
        apply_migrations(url)
        local = LocalServices(
            database_url=url,
            dynamodb_endpoint=endpoint,
            cron_secret="bench-cron-secret",  # noqa: S106 (a local, throwaway value)
            resources={t.logical_id: t.local_name for t in template.tables.values()},
        )
        monitor = _monitor_spec(template)
        from devtools.invoke import function_environment

        environment = function_environment(template, monitor, local)
        # The caller's connection variables would point the bench at their services instead;
        # the bench always measures its own throwaway ones.
        environment.update(
            DATABASE_URL=url,
            AWS_ENDPOINT_URL_DYNAMODB=endpoint,
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 (moto accepts anything)
        )
        yield BenchServices(url, endpoint, environment["COOLDOWN_TABLE_NAME"], environment)
    finally:
        moto.terminate()
        moto.wait(timeout=30)
        postgres.stop()
        _remove_tree(workdir)


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"moto's server did not start on port {port}")


def _monitor_spec(template: Template) -> FunctionSpec:
    scheduled = template.scheduled_functions
    if scheduled:
        return scheduled[0]
    # Before the monitor is in the template, any function carries the shared environment.
    return next(iter(template.functions.values()))


def _recreate_cooldown_table(template: Template, services: BenchServices) -> None:
    """An empty table shaped by template.yaml, so the next monitor run starts cold."""
    from devtools.local_services import create_tables

    client = _dynamodb_client(services)
    for table in template.tables.values():
        with suppress(client.exceptions.ResourceNotFoundException):
            client.delete_table(TableName=table.local_name)
    create_tables(template, services.dynamodb_endpoint)


def _dynamodb_client(services: BenchServices) -> Any:
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=services.dynamodb_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 (moto accepts anything)
    )


def _reset_service_state() -> None:
    """Forget cached settings, the connection and the cooldown store (a new size begins)."""
    from inventory.config import get_settings
    from inventory.data.db import reset_connection

    get_settings.cache_clear()
    reset_connection()
    try:
        from inventory.data.cooldowns import get_cooldown_store

        get_cooldown_store.cache_clear()
    except ImportError:
        pass


def _forget_other_functions_state() -> None:
    """Drop what the availability function cached in this process (100k models at 100k
    packages): in AWS the monitor runs in a container of its own, and the garbage collector
    here would otherwise walk that cache on every collection the monitor triggers."""
    import gc

    from inventory.services.availability_cache import availability_cache

    availability_cache().clear()
    gc.collect()


# --- measurements ----------------------------------------------------------------------------


class StatementCounter:
    """Counts the statements the service's connections send (one round trip each)."""

    def __init__(self) -> None:
        # One entry per statement: list.append is atomic, and the monitor's second read runs
        # in a worker thread.
        self._sent: list[None] = []

    @property
    def count(self) -> int:
        return len(self._sent)

    @contextmanager
    def counting(self, *connections: psycopg.Connection[Any]) -> Iterator[None]:
        sent = self._sent

        class CountingCursor(psycopg.Cursor[Any]):
            def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
                sent.append(None)
                return super().execute(query, params, **kwargs)

            def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
                sent.append(None)
                super().executemany(query, params_seq, **kwargs)

        previous = [connection.cursor_factory for connection in connections]
        for connection in connections:
            connection.cursor_factory = CountingCursor
        try:
            yield
        finally:
            for connection, factory in zip(connections, previous, strict=True):
                connection.cursor_factory = factory


def _floor_connection(database_url: str) -> psycopg.Connection[Any]:
    """A connection for the bare SQL, with the work_mem the monitor's reads use: the floor is
    measured at the monitor's own setting, not at the server's smaller default."""
    from inventory.data.db import READ_WORK_MEM

    connection = psycopg.connect(database_url, autocommit=True)
    connection.execute(sql.SQL("SET work_mem = {}").format(sql.Literal(READ_WORK_MEM)))
    return connection


def _floor_rows(connection: psycopg.Connection[Any], query: Any, params: Any = None) -> list[Any]:
    """The floor's rows, fetched as the monitor fetches its own: with the cyclic collector
    paused (monitor.cyclic_gc_paused). Left running, it walks the 100k fetched rows and adds
    50-170 ms at 100k packages: a floor that is not one."""
    from inventory.services.monitor import cyclic_gc_paused

    with cyclic_gc_paused():
        return connection.execute(query, params).fetchall()


def measure_bare_sql(database_url: str, repeat: int) -> dict[str, Any]:
    """The GROUP BY alone, rows fetched as tuples: one warm-up, then the median."""
    with _floor_connection(database_url) as connection:
        runs = []
        rows = 0
        for _ in range(repeat + 1):
            elapsed, fetched = _timed(lambda: _floor_rows(connection, BARE_SQL))
            runs.append(elapsed)
            rows = len(fetched)
    return {"median_ms": _median(runs[1:]), "runs_ms": runs[1:], "rows": rows}


def measure_bare_sql_with_usage(
    database_url: str, repeat: int, now: datetime, lookback_days: int
) -> dict[str, Any]:
    """BARE_SQL and BARE_USAGE_SQL started together on two connections: the wall time of the
    pair (one warm-up, then the median)."""
    from concurrent.futures import ThreadPoolExecutor

    from inventory.services.monitor import cyclic_gc_paused

    window = {"since": now - timedelta(days=lookback_days), "until": now}
    with (
        _floor_connection(database_url) as packages,
        _floor_connection(database_url) as usage,
        ThreadPoolExecutor(max_workers=2) as pool,
    ):
        runs = []
        for _ in range(repeat + 1):
            with cyclic_gc_paused():  # as in _floor_rows, for both threads at once
                started = time.perf_counter()
                pending = [
                    pool.submit(lambda: packages.execute(BARE_SQL).fetchall()),
                    pool.submit(lambda: usage.execute(BARE_USAGE_SQL, window).fetchall()),
                ]
                for future in pending:
                    future.result()
                runs.append(_ms(time.perf_counter() - started))
    return {"median_ms": _median(runs[1:]), "runs_ms": runs[1:]}


def _header(headers: dict[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return None


def _availability_spec(template: Template) -> FunctionSpec:
    for spec in template.functions.values():
        if spec.code_dir.name == AVAILABILITY_FUNCTION_DIR:
            return spec
    raise LookupError(f"no function with code in functions/{AVAILABILITY_FUNCTION_DIR}")


PAGE_SIZE = 1_000


def measure_availability_handler(
    template: Template, repeat: int, database_url: str
) -> dict[str, Any]:
    """The real handler with its committed event: the whole list (first, warm and 304 calls;
    a 422 once it no longer fits one Lambda response), then pages of PAGE_SIZE (medians)."""
    from devtools.lambda_runtime import LocalLambdaContext, load_function_module

    spec = _availability_spec(template)
    handler = getattr(load_function_module(spec), spec.handler_function)
    event = json.loads((EVENTS_DIR / f"{AVAILABILITY_FUNCTION_DIR}.json").read_text())

    def call(request: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        context = LocalLambdaContext(spec.logical_id, spec.memory_mb, spec.timeout_seconds)
        with _quiet_stdout():
            return _timed(lambda: handler(request, context))

    first_ms, first = call(event)
    warm = [call(event) for _ in range(repeat)]
    figures: dict[str, Any] = {
        "first_call_ms": first_ms,
        "first_status": first.get("statusCode"),
        "warm_call_ms": _median([ms for ms, _ in warm]),
        "response_bytes": len(str(warm[-1][1].get("body") or "")),
        **_revalidation(call, event, warm[-1][1], repeat),
    }
    page_event = _with_query(event, {"limit": str(PAGE_SIZE)})
    pages = [call(page_event) for _ in range(repeat)]
    figures["page"] = {
        "limit": PAGE_SIZE,
        "status": pages[-1][1].get("statusCode"),
        "warm_call_ms": _median([ms for ms, _ in pages]),
        "response_bytes": len(str(pages[-1][1].get("body") or "")),
        "every_page_ms": _every_page_ms(call, page_event),
        "after_a_change_ms": _page_after_a_change_ms(call, page_event, database_url, repeat),
        **_revalidation(call, page_event, pages[-1][1], repeat),
    }
    return figures


def _revalidation(
    call: Callable[[dict[str, Any]], tuple[float, dict[str, Any]]],
    event: dict[str, Any],
    answered: dict[str, Any],
    repeat: int,
) -> dict[str, Any]:
    """The same request with If-None-Match: the 304 call (median)."""
    etag = _header(answered.get("headers") or {}, "etag")
    if etag is None:
        return {"etag": False, "not_modified_ms": None, "not_modified_status": None}
    conditional = json.loads(json.dumps(event))
    conditional["headers"]["if-none-match"] = etag
    revalidated = [call(conditional) for _ in range(repeat)]
    return {
        "etag": True,
        "not_modified_ms": _median([ms for ms, _ in revalidated]),
        "not_modified_status": revalidated[-1][1].get("statusCode"),
    }


def _with_query(event: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    from urllib.parse import urlencode

    changed: dict[str, Any] = json.loads(json.dumps(event))
    changed["queryStringParameters"] = query
    changed["rawQueryString"] = urlencode(query)
    return changed


def _page_after_a_change_ms(
    call: Callable[[dict[str, Any]], tuple[float, dict[str, Any]]],
    event: dict[str, Any],
    database_url: str,
    repeat: int,
) -> float:
    """The page right after a committed stock change (a POS selling while another pages):
    nothing cached is current, so the page is read from PostgreSQL (median). The stock is
    put back afterwards."""
    bump = (
        "UPDATE products SET current_stock = current_stock + %s "
        "WHERE id = (SELECT id FROM products ORDER BY id LIMIT 1)"
    )
    runs = []
    with psycopg.connect(database_url, autocommit=True) as connection:
        for _ in range(repeat):
            connection.execute(bump, (1,))
            runs.append(call(event)[0])
        connection.execute(bump, (-repeat,))
    return _median(runs)


def _every_page_ms(
    call: Callable[[dict[str, Any]], tuple[float, dict[str, Any]]], event: dict[str, Any]
) -> float:
    """Every page once, following the Link header, as a POS reading the whole catalogue."""
    from urllib.parse import parse_qs, urlsplit

    total = 0.0
    request: dict[str, Any] | None = event
    while request is not None:
        elapsed, answer = call(request)
        total += elapsed
        link = _header(answer.get("headers") or {}, "link")
        if link is None:
            request = None
        else:
            query = parse_qs(urlsplit(link.split(">", 1)[0].lstrip("<")).query)
            request = _with_query(event, {key: values[0] for key, values in query.items()})
    return round(total, 1)


@dataclass
class MonitorRun:
    duration_ms: int
    wall_ms: float
    sql_statements: int
    dynamodb_requests: int
    store_ms: float  # inside the cooldown store (DynamoDB, here moto) during the run
    summary: dict[str, Any]


class TimedStore:
    """The cooldown store, with the time spent in its calls added up."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.seconds = 0.0

    def for_one_run(self) -> TimedStore:
        self._store = self._store.for_one_run()
        return self

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if not callable(attribute):
            return attribute

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return attribute(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return timed


def _run_monitor_counted(now: datetime, deadline: Any = None) -> MonitorRun:
    """One real monitor run, counting its SQL statements and its DynamoDB requests."""
    from inventory.config import get_settings
    from inventory.data.cooldowns import DynamoCooldownStore, create_dynamodb_client
    from inventory.data.db import SNAPSHOT_READER, get_connection
    from inventory.observability import metrics
    from inventory.services.monitor import run_monitor

    settings = get_settings()
    client = create_dynamodb_client()
    requests = [0]

    def count_request(**_: Any) -> None:
        requests[0] += 1

    client.meta.events.register("before-send.dynamodb", count_request)
    store = TimedStore(
        DynamoCooldownStore(
            settings.cooldown_table_name,
            timedelta(hours=float(settings.notification_cooldown_hours)),
            client,
        )
    )
    statements = StatementCounter()
    connections = get_connection(), get_connection(SNAPSHOT_READER)
    with statements.counting(*connections), _quiet_stdout():
        wall_ms, result = _timed(lambda: run_monitor(now, store=store, deadline=deadline))
    metrics.clear_metrics()  # no handler decorator flushes them here
    return MonitorRun(
        duration_ms=result.duration_ms,
        wall_ms=wall_ms,
        sql_statements=statements.count,
        dynamodb_requests=requests[0],
        store_ms=_ms(store.seconds),
        summary=result.summary.model_dump(mode="json"),
    )


# Warm monitor runs at every size: cheap (under a second each at 100k) and the median of five
# shrugs off one slow run of a shared machine.
WARM_RUNS = 5


def _warm_runs_paired_with_bare_sql(
    database_url: str, runs: int, now: datetime
) -> tuple[list[MonitorRun], list[float]]:
    """Warm runs, each right after one BARE_SQL run: on a machine whose speed drifts (shared
    vCPUs), each pair sees the same speed, so the median of the pairs' ratios is steadier than
    the ratio of medians measured minutes apart. Both are reported."""
    warm: list[MonitorRun] = []
    bare: list[float] = []
    with _floor_connection(database_url) as connection:
        for i in range(runs):
            elapsed, _ = _timed(lambda: _floor_rows(connection, BARE_SQL))
            bare.append(elapsed)
            warm.append(_run_monitor_counted(now + timedelta(minutes=1 + i)))
    return warm, bare


def measure_monitor(
    template: Template, services: BenchServices, repeat: int, now: datetime
) -> dict[str, Any]:
    """A cold run (empty cooldown table: every alert sent), then warm runs (all suppressed).

    When the cold run takes longer than the function's timeout allows, the first run is also
    measured as Lambda runs it: claims stop at the timeout less the reserve, the rest is
    deferred, and the next run sends it.
    """
    from inventory.deadline import RESERVE_SECONDS, MonotonicDeadline

    timeout = _monitor_spec(template).timeout_seconds
    _recreate_cooldown_table(template, services)
    cold = _run_monitor_counted(now)
    within_timeout: dict[str, Any] = {"timeout_s": timeout, "fits": True}
    if cold.duration_ms > (timeout - RESERVE_SECONDS) * 1000:
        _recreate_cooldown_table(template, services)
        first = _run_monitor_counted(now, MonotonicDeadline.after(timeout - RESERVE_SECONDS))
        then = _run_monitor_counted(now + timedelta(seconds=30))
        within_timeout = {
            "timeout_s": timeout,
            "fits": False,
            "first_run_ms": first.duration_ms,
            "first_run_sent": first.summary.get("notifications_sent"),
            "first_run_deferred": first.summary.get("notifications_deferred"),
            "next_run_sent": then.summary.get("notifications_sent"),
        }
    warm, paired_bare = _warm_runs_paired_with_bare_sql(
        services.database_url, max(repeat, WARM_RUNS), now
    )
    summary = dict(warm[-1].summary)
    errors = summary.pop("errors", [])
    return {
        "cold_duration_ms": cold.duration_ms,
        "cold_notifications_sent": cold.summary.get("notifications_sent"),
        "cold_errors": len(cold.summary.get("errors", [])),
        "cold_sql_statements": cold.sql_statements,
        "cold_dynamodb_requests": cold.dynamodb_requests,
        "cold_within_timeout": within_timeout,
        "warm_duration_ms": _median([run.duration_ms for run in warm]),
        "warm_runs_ms": [run.duration_ms for run in warm],
        "paired_bare_sql_ms": paired_bare,
        "ratio_to_paired_bare_sql": round(
            statistics.median(
                run.duration_ms / bare for run, bare in zip(warm, paired_bare, strict=True)
            ),
            2,
        ),
        "warm_cooldown_store_ms": _median([run.store_ms for run in warm]),
        "warm_sql_statements": warm[-1].sql_statements,
        "warm_dynamodb_requests": warm[-1].dynamodb_requests,
        "warm_errors": len(errors),
        "summary": summary,
    }


# --- cold starts -----------------------------------------------------------------------------


def _http_event_for(spec: FunctionSpec) -> dict[str, Any]:
    """The function's committed event, its path ids swapped for bench catalogue ids."""
    from devtools.apigw import http_api_event

    committed = EVENTS_DIR / f"{spec.code_dir.name}.json"
    if committed.exists():
        event: dict[str, Any] = json.loads(committed.read_text())
    else:
        route = spec.routes[0]
        event = http_api_event(route.method, route.path, route.path)
    parameters = event.get("pathParameters") or {}
    for name, old in list(parameters.items()):
        new = str(bench_id("product" if "product" in name.lower() else "package", 1))
        parameters[name] = new
        event["rawPath"] = str(event.get("rawPath", "")).replace(old, new)
        http = event.get("requestContext", {}).get("http", {})
        if "path" in http:
            http["path"] = str(http["path"]).replace(old, new)
    return event


def event_for(spec: FunctionSpec) -> dict[str, Any]:
    """A scheduled function gets its EventBridge event (the path that runs the monitor)."""
    from devtools.apigw import scheduled_event

    if spec.schedules:
        return scheduled_event(spec.schedules[0].rule_arn)
    return _http_event_for(spec)


def _coldstart_order(spec: FunctionSpec) -> tuple[bool, bool, str]:
    # Scheduled (the monitor, whose memory is measured with the cooldown warm) first;
    # functions that delete something (clearing cooldowns) last.
    deletes = any(route.method == "DELETE" for route in spec.routes)
    return (not spec.schedules, deletes, spec.logical_id)


def _outcome(invocation: dict[str, Any]) -> str:
    if "error" in invocation:
        return f"raised {invocation['error'].split(':')[0]}"
    result = invocation["response"]
    if isinstance(result, dict) and "statusCode" in result:
        return f"HTTP {result['statusCode']}"
    if isinstance(result, dict) and "success" in result:
        return "success" if result["success"] else "failure"
    return type(result).__name__


def measure_cold_starts(template: Template, services: BenchServices) -> dict[str, Any]:
    """Every function: import and first invocation in a fresh `python -I` process."""
    from devtools.lambda_runtime import runtime_variables

    figures: dict[str, Any] = {}
    for spec in sorted(template.functions.values(), key=_coldstart_order):
        request = {
            "sys_path": [str(spec.code_dir), *(str(folder) for folder in spec.layer_dirs)],
            "handler": f"{spec.handler_module}.{spec.handler_function}",
            "events": [event_for(spec)],
            "function_name": spec.logical_id,
            "memory_mb": spec.memory_mb,
            "timeout_seconds": spec.timeout_seconds,
            "watch_modules": [],
        }
        environment = {**os.environ, **services.environment, **runtime_variables(spec)}
        completed = subprocess.run(
            [sys.executable, "-I", str(COLDSTART_CHILD)],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            env=environment,
            cwd=spec.code_dir,
            check=False,
        )
        lines = completed.stdout.strip().splitlines()
        if completed.returncode != 0 or not lines:
            tail = completed.stderr.strip().splitlines()[-1:] or ["no output"]
            figures[spec.logical_id] = {"error": tail[0][:200]}
            continue
        probe = json.loads(lines[-1])
        [first] = probe["invocations"]
        figures[spec.logical_id] = {
            "import_ms": probe["import_ms"],
            "invoke_ms": first["ms"],
            "outcome": _outcome(first),
            "peak_rss_mb": probe["peak_rss_mb"],
            "scheduled": bool(spec.schedules),
        }
    return figures


# --- one size, all sizes -----------------------------------------------------------------------


def _machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "python_version": platform.python_version(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "processor": _cpu_model(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return str(platform.processor())


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


def bench_size(
    template: Template, services: BenchServices, packages: int, options: BenchOptions
) -> dict[str, Any]:
    size = CatalogueSize(packages)
    now = datetime.now(UTC)
    _note(f"{packages:,} packages: generating the catalogue")
    with psycopg.connect(services.database_url, autocommit=True) as connection:
        generation_ms, rows = _timed(lambda: generate_catalogue(connection, size, now))
    _reset_service_state()
    # Large responses take seconds each: fewer repeats keep the whole run within minutes.
    repeat = options.repeat if packages <= 10_000 else max(1, min(options.repeat, 3))
    _note(f"{packages:,} packages: bare SQL")
    bare = measure_bare_sql(services.database_url, max(repeat, WARM_RUNS))
    from inventory.config import get_settings

    lookback_days = get_settings().stockout_lookback_days
    bare_with_usage = measure_bare_sql_with_usage(services.database_url, repeat, now, lookback_days)
    _note(f"{packages:,} packages: availability handler")
    availability = measure_availability_handler(template, repeat, services.database_url)
    _forget_other_functions_state()
    _note(f"{packages:,} packages: monitor (cold, then warm cooldown)")
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
        _note(f"{packages:,} packages: cold starts of every function")
        cold_starts = measure_cold_starts(template, services)
    monitor_process: dict[str, Any] = next(
        (figures for figures in cold_starts.values() if figures.get("scheduled")), {}
    )
    return {
        "packages": packages,
        **_machine(),
        "postgres": "embedded, fsync off, 127.0.0.1",
        "dynamodb": "moto server process, 127.0.0.1",
        "rows": rows,
        "generation_ms": generation_ms,
        "package_status": _status_counts(services.database_url),
        "bare_sql": bare,
        "bare_sql_with_usage": bare_with_usage,
        "monitor": monitor,
        "monitor_peak_rss_mb": monitor_process.get("peak_rss_mb"),
        "availability_handler": availability,
        "cold_starts": cold_starts,
    }


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
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    parser.add_argument("--repeat", type=int, default=5, help="runs per median (default: 5)")
    parser.add_argument(
        "--no-cold-starts", action="store_true", help="skip the per-function subprocesses"
    )
    arguments = parser.parse_args(list(argv))
    try:
        sizes = tuple(int(part.replace("_", "")) for part in arguments.sizes.split(",") if part)
    except ValueError:
        parser.error("--sizes takes whole numbers, e.g. 1000,10000")
    if not sizes or min(sizes) < 10:
        parser.error("every size must be at least 10 packages")
    return BenchOptions(
        sizes=sizes,
        output=arguments.output,
        repeat=max(1, arguments.repeat),
        cold_starts=not arguments.no_cold_starts,
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
        _note(
            f"PostgreSQL (embedded, fsync off) at {services.database_url}; "
            f"DynamoDB (moto) at {services.dynamodb_endpoint}"
        )
        for packages in options.sizes:
            results.append(bench_size(template, services, packages, options))
        _reset_service_state()
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2) + "\n")
    _note(f"finished in {time.perf_counter() - started:,.0f} s; figures in {options.output}")
    return results


def main(argv: Sequence[str]) -> int:
    options = parse_arguments(argv)
    results = run(options)
    machine = _machine()
    print(
        f"{machine['cpu_count']} CPUs ({machine['processor']}), Python "
        f"{machine['python_version']}, {machine['machine']}; PostgreSQL embedded with fsync "
        "off, DynamoDB = moto server"
    )
    print(render_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
