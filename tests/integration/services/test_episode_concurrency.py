"""Monitor runs at the same moment, in separate processes, end each episode once and send no
second alert for an episode that goes on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from inventory.services.monitor import run_monitor
from tests.support.catalog import component, insert_catalog, package
from tests.support.monitor_worker import run_monitors_together

RUNS = 8
PACKAGES = 10
START = datetime(2025, 10, 21, 18, 0, tzinfo=UTC)
SPECS = [package(f"Margarita {i}", [component(f"Limes {i}", 1, 0)]) for i in range(PACKAGES)]


@pytest.mark.slow
def test_simultaneous_runs_resolve_each_episode_once_and_never_alert_twice_for_one(
    db: psycopg.Connection[Any], database_url: str, cooldown_table: str, moto_endpoint: str
) -> None:
    insert_catalog(db, SPECS)
    assert run_monitor(START).summary.notifications_sent == PACKAGES
    db.execute("UPDATE products SET current_stock = 10")
    run_monitor(START + timedelta(minutes=10))  # every episode clear from here
    # Half of them sell out again before the rearm window ends: those episodes go on.
    again = [spec.components[0].product_id for spec in SPECS[: PACKAGES // 2]]
    db.execute("UPDATE products SET current_stock = 0 WHERE id = ANY(%s)", (again,))

    summaries = run_monitors_together(
        RUNS, database_url, cooldown_table, moto_endpoint, START + timedelta(minutes=40)
    )

    assert [s["errors"] for s in summaries] == [[]] * RUNS
    assert sum(s["episodes_resolved"] for s in summaries) == PACKAGES // 2
    assert sum(s["notifications_sent"] for s in summaries) == 0
    per_package = db.execute(
        "SELECT reference_id, count(*) FILTER (WHERE type = 'package_unavailable'),"
        " count(*) FILTER (WHERE type = 'alert_resolved') FROM notifications GROUP BY 1"
    ).fetchall()
    came_back = {spec.package_id for spec in SPECS[: PACKAGES // 2]}
    assert sorted((ref in came_back, alerts, notices) for ref, alerts, notices in per_package) == (
        [(False, 1, 1)] * (PACKAGES // 2) + [(True, 1, 0)] * (PACKAGES // 2)
    )
    open_episodes = db.execute(
        "SELECT count(*) FROM notification_episodes WHERE resolved_at IS NULL"
    ).fetchone()
    assert open_episodes == (PACKAGES // 2,)
