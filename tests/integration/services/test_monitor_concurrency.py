"""Many monitor runs at the same moment, in separate processes, send each alert once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from tests.support.catalog import component, insert_catalog, package
from tests.support.monitor_worker import run_monitors_together

RUNS = 12
NOW = datetime(2025, 10, 21, 12, 0, tzinfo=UTC)


@pytest.mark.slow
def test_simultaneous_runs_in_separate_processes_send_one_notification_per_reference(
    db: psycopg.Connection[Any], database_url: str, cooldown_table: str, moto_endpoint: str
) -> None:
    specs = [package(f"Bucket {i}", [component(f"Beer {i}", 5, 3)]) for i in range(8)]
    specs += [package(f"Tower {i}", [component(f"Beer {i}", 10, 3)]) for i in range(8)]
    insert_catalog(db, specs)  # 16 unavailable packages + 8 bottleneck products = 24 alerts
    summaries = run_monitors_together(RUNS, database_url, cooldown_table, moto_endpoint, NOW)

    # The runs' own errors first: they say why a count below would be off.
    assert [s["errors"] for s in summaries] == [[]] * RUNS
    counts = db.execute(
        "SELECT type, reference_id, count(*) FROM notifications GROUP BY 1, 2"
    ).fetchall()
    assert len(counts) == 24
    assert {row[2] for row in counts} == {1}
    assert sum(s["notifications_sent"] for s in summaries) == 24
    assert sum(s["notifications_suppressed"] for s in summaries) == 24 * (RUNS - 1)
