"""The monitor (`run_monitor`, the real service) against the moto cooldown table: a cold run,
then warm runs each with a new store (as in a new Lambda container), paired with the floor."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from devtools.bench_dynamodb import DynamoDBCounter
from devtools.bench_floor import BARE_SQL, floor_connection, floor_rows
from devtools.bench_measure import median, ms, timed
from devtools.bench_services import (
    BenchServices,
    monitor_spec,
    quiet_stdout,
    recreate_cooldown_table,
)
from devtools.bench_statements import StatementCounter
from devtools.template import Template


@dataclass
class MonitorRun:
    duration_ms: int
    wall_ms: float
    sql_statements: int
    dynamodb_requests: int
    store_ms: float  # inside the cooldown store (DynamoDB, here moto) during the run
    summary: dict[str, Any]
    dynamodb_read_units: float = 0.0
    dynamodb_operations: dict[str, int] = field(default_factory=dict)


class TimedStore:
    """The cooldown store, with the time spent in its calls added up."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.seconds = 0.0

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


def run_monitor_counted(now: datetime, deadline: Any = None) -> MonitorRun:
    """One real monitor run, counting its SQL statements, its DynamoDB requests and their
    read units."""
    from inventory.config import get_settings
    from inventory.data.cooldowns.dynamodb import DynamoCooldownStore
    from inventory.data.cooldowns.dynamodb_client import create_dynamodb_client
    from inventory.data.db import SNAPSHOT_READER, get_connection
    from inventory.observability import metrics
    from inventory.services.monitor import run_monitor

    settings = get_settings()
    client = create_dynamodb_client()
    dynamodb = DynamoDBCounter(client)
    store = TimedStore(
        DynamoCooldownStore(
            settings.cooldown_table_name,
            settings.cooldown_window or timedelta(0),  # 0 hours: the store refuses, as before
            client,
            lease=timedelta(seconds=settings.monitor_claim_lease_seconds),
        )
    )
    statements = StatementCounter()
    connections = get_connection(), get_connection(SNAPSHOT_READER)
    with statements.counting(*connections), quiet_stdout():
        wall_ms, result = timed(lambda: run_monitor(now, store=store, deadline=deadline))
    metrics.clear_metrics()  # no handler decorator flushes them here
    return MonitorRun(
        duration_ms=result.duration_ms,
        wall_ms=wall_ms,
        sql_statements=statements.count,
        dynamodb_requests=dynamodb.requests,
        store_ms=ms(store.seconds),
        summary=result.summary.model_dump(mode="json"),
        dynamodb_read_units=dynamodb.read_units,
        dynamodb_operations=dict(dynamodb.operations),
    )


# Warm monitor runs at every size: cheap, and the median of five shrugs off one slow run of a
# shared machine.
WARM_RUNS = 5


def _warm_runs_paired_with_bare_sql(
    database_url: str, runs: int, now: datetime
) -> tuple[list[MonitorRun], list[float]]:
    """Warm runs, each right after one BARE_SQL run: on a machine whose speed drifts (shared
    vCPUs), each pair sees the same speed, so the median of the pairs' ratios is steadier than
    the ratio of medians measured minutes apart. Both are reported."""
    warm: list[MonitorRun] = []
    bare: list[float] = []
    with floor_connection(database_url) as connection:
        for i in range(runs):
            elapsed, _ = timed(lambda: floor_rows(connection, BARE_SQL))
            bare.append(elapsed)
            warm.append(run_monitor_counted(now + timedelta(minutes=1 + i)))
    return warm, bare


def forget_notifications(database_url: str) -> None:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("TRUNCATE notification_deliveries, notification_episodes, notifications")


def measure_monitor(
    template: Template, services: BenchServices, repeat: int, now: datetime
) -> dict[str, Any]:
    """A cold run (empty cooldown table: every alert sent), then warm runs (all suppressed).

    When the cold run takes longer than the function's timeout allows, the first run is also
    measured as Lambda runs it: claims stop at the timeout less the reserve, the rest is
    deferred, and the next run sends it.
    """
    from inventory.deadline import RESERVE_SECONDS, MonotonicDeadline

    timeout = monitor_spec(template).timeout_seconds
    recreate_cooldown_table(template, services)
    cold = run_monitor_counted(now)
    within_timeout: dict[str, Any] = {"timeout_s": timeout, "fits": True}
    if cold.duration_ms > (timeout - RESERVE_SECONDS) * 1000:
        # Cold again in both stores: the committed rows, not only the entries, say what was sent.
        recreate_cooldown_table(template, services)
        forget_notifications(services.database_url)
        first = run_monitor_counted(now, MonotonicDeadline.after(timeout - RESERVE_SECONDS))
        then = run_monitor_counted(now + timedelta(seconds=30))
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
        "warm_duration_ms": median([run.duration_ms for run in warm]),
        "warm_runs_ms": [run.duration_ms for run in warm],
        "paired_bare_sql_ms": paired_bare,
        "ratio_to_paired_bare_sql": round(
            statistics.median(
                run.duration_ms / bare for run, bare in zip(warm, paired_bare, strict=True)
            ),
            2,
        ),
        "warm_cooldown_store_ms": median([run.store_ms for run in warm]),
        "warm_sql_statements": warm[-1].sql_statements,
        "warm_dynamodb_requests": warm[-1].dynamodb_requests,
        "warm_errors": len(errors),
        "summary": summary,
    }


# A delivery restocks one in this many of the products the open episodes name (a product's
# own, a package's bottleneck; by id, the first always), an inactive one back in the range:
# many of those episodes clear.
RESTOCKED_SHARE = 4
_RESTOCK = """
    WITH named AS (
        SELECT DISTINCT CASE WHEN e.reference_type = 'product' THEN e.reference_id
                             ELSE (n.data->'bottleneck'->>'product_id')::uuid END AS product_id
        FROM notification_episodes e JOIN notifications n ON n.id = e.first_notification_id
        WHERE e.resolved_at IS NULL
    ), due AS (
        SELECT product_id, row_number() OVER (ORDER BY product_id) AS n
        FROM named WHERE product_id IS NOT NULL
    )
    UPDATE products SET current_stock = current_stock + 100000, is_active = true
    FROM due WHERE products.id = due.product_id AND due.n %% %s = 1
"""


def measure_episodes(database_url: str, now: datetime) -> dict[str, Any]:
    """With the cooldown warm and every alert's episode open: how many are open; a delivery
    restocks some of the products they name (RESTOCKED_SHARE); the run that first
    finds their episodes clear, the run a rearm window later that resolves them (their
    alert_resolved stored, cooldowns released), and the warm run after it (is the digest still
    whole?)."""
    import psycopg

    from inventory.config import get_settings

    rearm = get_settings().rearm_window
    with psycopg.connect(database_url, autocommit=True) as connection:
        opened = _open_episodes(connection)
        connection.execute(_RESTOCK, (RESTOCKED_SHARE,))
    start = now + timedelta(minutes=10)
    clearing = run_monitor_counted(start)
    resolving = run_monitor_counted(start + rearm)
    after = run_monitor_counted(start + rearm + timedelta(minutes=1))
    with psycopg.connect(database_url, autocommit=True) as connection:
        still_open = _open_episodes(connection)
    return {
        "open_episodes": opened,
        "open_after": still_open,
        "clearing_run_ms": clearing.duration_ms,
        "resolving_run_ms": resolving.duration_ms,
        "resolving_store_ms": resolving.store_ms,
        "resolved": resolving.summary.get("episodes_resolved"),
        "resolving_sql_statements": resolving.sql_statements,
        "resolving_dynamodb_requests": resolving.dynamodb_requests,
        "resolving_errors": resolving.summary.get("errors", []),
        "next_warm_run_ms": after.duration_ms,
        "next_warm_dynamodb_requests": after.dynamodb_requests,
    }


def _open_episodes(connection: Any) -> int:
    row = connection.execute(
        "SELECT count(*) FROM notification_episodes WHERE resolved_at IS NULL"
    ).fetchone()
    return int(row[0])
