"""A monitor process killed while it ends episodes resolves each once and re-arms every alert.

The run is a real child process (tests/support/crashing_monitor.py) that SIGKILLs itself before,
during or after the resolution statement, or after deleting the cooldown entries but before
recording it. The next run in this process must leave every episode resolved once (one
alert_resolved each) and released, and a new outage must alert at once.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from inventory.config import get_settings
from inventory.data.cooldowns import get_cooldown_store
from inventory.services.monitor import run_monitor
from tests.integration.services.test_monitor_crashes import start_child
from tests.support.catalog import component, insert_catalog, package
from tests.support.crashing_monitor import DURING_INSERT_KILL_AFTER_SECONDS

PACKAGES = 10
SPECS = [package(f"Margarita {i}", [component(f"Limes {i}", 1, 0)]) for i in range(PACKAGES)]
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture
def cleared(
    db: psycopg.Connection[Any], cooldown_table: str, service_env: pytest.MonkeyPatch
) -> Any:
    """Ten sold-out packages alerted at START, restocked and clear since START + 10 min."""
    service_env.setenv("POWERTOOLS_LOG_LEVEL", "ERROR")
    get_settings.cache_clear()
    get_cooldown_store.cache_clear()
    insert_catalog(db, SPECS)
    assert run_monitor(START).summary.notifications_sent == PACKAGES
    db.execute("UPDATE products SET current_stock = 10")
    assert run_monitor(START + timedelta(minutes=10)).summary.episodes_resolved == 0
    return db


@pytest.fixture
def slow_resolution(cleared: psycopg.Connection[Any]) -> Iterator[None]:
    """The resolution's insert of its notices lingers on the server after the child died."""
    cleared.execute(
        "CREATE FUNCTION linger() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN PERFORM pg_sleep({DURING_INSERT_KILL_AFTER_SECONDS * 4}); RETURN NULL; END $$"
    )
    cleared.execute(
        "CREATE TRIGGER linger BEFORE INSERT ON notifications"
        " FOR EACH STATEMENT EXECUTE FUNCTION linger()"
    )
    yield
    cleared.execute("DROP TRIGGER linger ON notifications")
    cleared.execute("DROP FUNCTION linger()")


def wait_for_orphans(db: psycopg.Connection[Any]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        busy = db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state = 'active'"
            " AND query LIKE '%%notification_episodes%%'"
        ).fetchone()
        if busy == (0,):
            return
        time.sleep(0.05)
    raise AssertionError("the orphaned resolution never ended")


def assert_resolved_once_and_rearmed(db: psycopg.Connection[Any]) -> None:
    notices = db.execute(
        "SELECT data->>'resolved_notification_id', count(*) FROM notifications"
        " WHERE type = 'alert_resolved' GROUP BY 1"
    ).fetchall()
    assert len(notices) == PACKAGES, f"{PACKAGES - len(notices)} episodes not resolved"
    assert {count for _, count in notices} == {1}, "an episode was resolved twice"
    episodes = db.execute(
        "SELECT count(*) FILTER (WHERE resolved_at IS NULL),"
        " count(*) FILTER (WHERE cooldown_released_at IS NULL) FROM notification_episodes"
    ).fetchone()
    assert episodes == (0, 0)
    # Sold out again: every package alerts at once, inside the 24 h cooldown.
    db.execute("UPDATE products SET current_stock = 0")
    again = run_monitor(START + timedelta(minutes=60))
    assert again.summary.errors == []
    assert again.summary.notifications_sent == PACKAGES


@pytest.mark.parametrize("point", ["before-resolve", "after-resolve", "after-rearm"])
def test_a_monitor_killed_while_ending_episodes_resolves_each_once_and_rearms_them(
    cleared: psycopg.Connection[Any], point: str
) -> None:
    process = start_child(point, START + timedelta(minutes=40))

    assert process.wait(timeout=60) == -signal.SIGKILL
    after = run_monitor(START + timedelta(minutes=50))
    assert after.summary.errors == []
    resolved_by_the_child = 0 if point == "before-resolve" else PACKAGES
    assert after.summary.episodes_resolved == PACKAGES - resolved_by_the_child
    assert_resolved_once_and_rearmed(cleared)


@pytest.mark.usefixtures("slow_resolution")
def test_a_monitor_killed_with_its_resolution_in_flight_resolves_each_episode_once(
    cleared: psycopg.Connection[Any],
) -> None:
    process = start_child("during-resolve", START + timedelta(minutes=40))

    assert process.wait(timeout=60) == -signal.SIGKILL
    # The server finishes the orphaned statement (the next run comes ten minutes later); a
    # run meeting it still in flight is in test_episode_concurrency.
    wait_for_orphans(cleared)
    after = run_monitor(START + timedelta(minutes=50))
    assert after.summary.errors == []
    assert_resolved_once_and_rearmed(cleared)
