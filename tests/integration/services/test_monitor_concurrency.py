"""Many monitor runs at the same moment, in separate processes, send each alert once."""

from __future__ import annotations

import multiprocessing
import os
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from tests.support.catalog import component, insert_catalog, package
from tests.support.monitor_worker import run_monitor_when_released

RUNS = 12
NOW = datetime(2025, 10, 21, 12, 0, tzinfo=UTC)


@pytest.mark.slow
def test_simultaneous_runs_in_separate_processes_send_one_notification_per_reference(
    db: psycopg.Connection[Any], database_url: str, cooldown_table: str, moto_endpoint: str
) -> None:
    specs = [package(f"Bucket {i}", [component(f"Beer {i}", 5, 3)]) for i in range(8)]
    specs += [package(f"Tower {i}", [component(f"Beer {i}", 10, 3)]) for i in range(8)]
    insert_catalog(db, specs)  # 16 unavailable packages + 8 bottleneck products = 24 alerts
    environment = {
        "DATABASE_URL": database_url,
        "COOLDOWN_TABLE_NAME": cooldown_table,
        "AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint,
        "AWS_DEFAULT_REGION": os.environ["AWS_DEFAULT_REGION"],
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(RUNS)
    results = context.Queue()
    processes = [
        context.Process(
            target=run_monitor_when_released,
            args=(environment, NOW.isoformat(), barrier, results),
        )
        for _ in range(RUNS)
    ]
    for process in processes:
        process.start()
    summaries = [results.get(timeout=180)["summary"] for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0

    # The runs' own errors first: they say why a count below would be off.
    assert [s["errors"] for s in summaries] == [[]] * RUNS
    counts = db.execute(
        "SELECT type, reference_id, count(*) FROM notifications GROUP BY 1, 2"
    ).fetchall()
    assert len(counts) == 24
    assert {row[2] for row in counts} == {1}
    assert sum(s["notifications_sent"] for s in summaries) == 24
    assert sum(s["notifications_suppressed"] for s in summaries) == 24 * (RUNS - 1)
