"""A monitor process killed anywhere in its delivery loses no alert and sends none twice.

The run is a real child process (tests/support/crashing_monitor.py) that SIGKILLs itself at a
step of its delivery, or is killed from here at a moment of its run; then, once the claim
leases (MONITOR_CLAIM_LEASE_SECONDS, a few seconds here) have ended, one run in this process
must have sent every due alert exactly once, and a further run nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from inventory.config import get_settings
from inventory.data.cooldowns import get_cooldown_store
from inventory.data.cooldowns.dynamodb_client import PARTITION_KEY
from inventory.models.monitor_result import MonitorResult
from inventory.services.manual_checks import clear_cooldowns
from inventory.services.monitor import run_monitor
from tests.support import dynamo
from tests.support.catalog import component, insert_catalog, package
from tests.support.crashing_monitor import DURING_INSERT_KILL_AFTER_SECONDS

ROOT = Path(__file__).resolve().parents[3]
LEASE = timedelta(seconds=3)
ALERTS = 24  # 16 unavailable packages, 8 products each limiting two of them


@pytest.fixture
def bar(db: psycopg.Connection[Any], cooldown_table: str, service_env: pytest.MonkeyPatch) -> Any:
    specs = [package(f"Bucket {i}", [component(f"Beer {i}", 5, 3)]) for i in range(8)]
    specs += [package(f"Tower {i}", [component(f"Beer {i}", 10, 3)]) for i in range(8)]
    insert_catalog(db, specs)
    service_env.setenv("MONITOR_CLAIM_LEASE_SECONDS", str(int(LEASE.total_seconds())))
    service_env.setenv("POWERTOOLS_LOG_LEVEL", "ERROR")
    get_settings.cache_clear()
    get_cooldown_store.cache_clear()
    return db


def child_environment() -> dict[str, str]:
    """The service's environment as the fixtures set it, for the child run."""
    paths = [str(ROOT), str(ROOT / "shared")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def spawn_child(point: str, now: datetime) -> subprocess.Popen[str]:
    """A child importing and connecting; `go` starts its run."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.crashing_monitor", point, now.isoformat()],
        cwd=ROOT,
        env=child_environment(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def go(process: subprocess.Popen[str]) -> subprocess.Popen[str]:
    assert process.stdout is not None
    assert process.stdin is not None
    assert process.stdout.readline().strip() == "ready"
    process.stdin.write("go\n")
    process.stdin.flush()
    return process


def start_child(point: str, now: datetime) -> subprocess.Popen[str]:
    return go(spawn_child(point, now))


def rows_per_key(db: psycopg.Connection[Any]) -> dict[tuple[str, Any], int]:
    found = db.execute(
        "SELECT type, reference_id, count(*) FROM notifications GROUP BY 1, 2"
    ).fetchall()
    return {(kind, reference): count for kind, reference, count in found}


def assert_every_alert_stored_once(db: psycopg.Connection[Any]) -> None:
    counts = rows_per_key(db)
    assert len(counts) == ALERTS, f"{ALERTS - len(counts)} alerts were lost"
    assert set(counts.values()) == {1}, "an alert was stored twice"


def recover(crashed_at: datetime) -> tuple[MonitorResult, MonitorResult]:
    """The first run after the leases ended, and the one after it."""
    after = run_monitor(crashed_at + LEASE + timedelta(seconds=1))
    again = run_monitor(crashed_at + LEASE + timedelta(minutes=10))
    return after, again


@pytest.fixture
def slow_insert(bar: psycopg.Connection[Any]) -> Iterator[None]:
    """Notification inserts linger on the server longer than the child lives after sending."""
    bar.execute(
        "CREATE FUNCTION linger() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN PERFORM pg_sleep({DURING_INSERT_KILL_AFTER_SECONDS * 4}); RETURN NULL; END $$"
    )
    bar.execute(
        "CREATE TRIGGER linger BEFORE INSERT ON notifications"
        " FOR EACH STATEMENT EXECUTE FUNCTION linger()"
    )
    yield
    bar.execute("DROP TRIGGER linger ON notifications")
    bar.execute("DROP FUNCTION linger()")


POINTS = [
    "claim:1",  # the first conditional PutItem landed
    "claim:13",  # half of them
    "after-claims",
    "before-insert",
    "after-commit",
    "confirm:1",
    "confirm:13",
    "before-digest",  # every lease confirmed, the digest not yet written
]


@pytest.mark.parametrize("point", POINTS)
def test_a_monitor_killed_at_a_step_of_its_delivery_sends_every_alert_exactly_once(
    bar: psycopg.Connection[Any], point: str
) -> None:
    crashed_at = datetime.now(UTC)

    process = start_child(point, crashed_at)

    assert process.wait(timeout=60) == -signal.SIGKILL
    after, again = recover(crashed_at)
    assert after.success
    assert after.summary.errors == []
    assert again.summary.notifications_sent == 0
    assert_every_alert_stored_once(bar)


@pytest.mark.usefixtures("slow_insert")
def test_a_monitor_killed_while_its_insert_is_in_flight_is_not_sent_twice(
    bar: psycopg.Connection[Any],
) -> None:
    crashed_at = datetime.now(UTC)

    process = start_child("during-insert", crashed_at)

    assert process.wait(timeout=60) == -signal.SIGKILL
    # The server finishes the statement its client died in, and commits it.
    deadline = time.monotonic() + 10
    while len(rows_per_key(bar)) < ALERTS and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(rows_per_key(bar)) == ALERTS
    after, again = recover(crashed_at)
    assert after.summary.notifications_sent == 0
    assert after.summary.notifications_suppressed == ALERTS
    assert again.summary.notifications_sent == 0
    assert_every_alert_stored_once(bar)


@pytest.mark.slow
def test_twenty_kills_at_moments_across_a_run_lose_nothing_and_send_nothing_twice(
    bar: psycopg.Connection[Any],
) -> None:
    store = get_cooldown_store()
    # How long a whole run takes in the child, from "go" to its exit.
    child = spawn_child("none", datetime.now(UTC))
    started = time.monotonic()
    assert go(child).wait(timeout=60) == 0
    duration = time.monotonic() - started
    kills = 20
    crashed_at = datetime.now(UTC)  # each child's `now`: leases count from it
    # Children import ahead (two at a time): the kills, not the imports, set the pace.
    ahead = [spawn_child("none", crashed_at) for _ in range(2)]
    for index in range(kills):
        bar.execute("DELETE FROM notifications")
        store.clear()
        process = ahead.pop(0)
        if index + len(ahead) + 1 < kills:
            ahead.append(spawn_child("none", crashed_at))
        go(process)
        time.sleep(duration * index / (kills - 1))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)

        recover(crashed_at)

        assert_every_alert_stored_once(bar)


def delete_every_entry(table: str) -> None:
    """What DynamoDB's TTL may do to ended leases at any moment: delete them."""
    client = dynamo.dynamodb_client(os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
    for item in client.scan(TableName=table)["Items"]:
        client.delete_item(TableName=table, Key={PARTITION_KEY: item[PARTITION_KEY]})


def test_a_committed_alert_whose_ended_lease_was_deleted_is_not_sent_again(
    bar: psycopg.Connection[Any], cooldown_table: str
) -> None:
    crashed_at = datetime.now(UTC)
    assert start_child("after-commit", crashed_at).wait(timeout=60) == -signal.SIGKILL

    delete_every_entry(cooldown_table)
    after, _ = recover(crashed_at)

    assert after.summary.notifications_sent == 0
    assert after.summary.notifications_suppressed == ALERTS
    assert_every_alert_stored_once(bar)


def test_two_runs_dying_one_after_the_other_still_send_each_alert_once(
    bar: psycopg.Connection[Any],
) -> None:
    first = datetime.now(UTC)
    assert start_child("after-commit", first).wait(timeout=60) == -signal.SIGKILL
    second = first + LEASE + timedelta(seconds=1)  # its claims replace the ended leases
    assert start_child("before-insert", second).wait(timeout=60) == -signal.SIGKILL

    recover(second)

    assert_every_alert_stored_once(bar)


def test_an_operator_clear_after_a_crash_lets_the_alerts_be_sent_again(
    bar: psycopg.Connection[Any],
) -> None:
    crashed_at = datetime.now(UTC)
    assert start_child("after-commit", crashed_at).wait(timeout=60) == -signal.SIGKILL

    assert clear_cooldowns(everything=True) > 0
    after, _ = recover(crashed_at)

    # Cleared means "alert me again": every alert is stored a second time, once.
    assert after.summary.notifications_sent == ALERTS
    assert set(rows_per_key(bar).values()) == {2}
