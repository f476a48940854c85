"""`make run` as a real process, stopped and started again: one signal stops PostgreSQL and
moto, whatever arrives after it, and the cooldowns outlive a restart as the notifications do,
so a restarted `make run` sends nothing twice.

Slow: each test starts PostgreSQL from an empty folder (initdb, migrations, the demo bar).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.make_run import MakeRun, port_open, postgres_processes

pytestmark = pytest.mark.slow


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[MakeRun]:
    run = MakeRun(tmp_path / "local")
    yield run
    run.kill_everything()  # only does something when the test failed


def assert_everything_stopped(run: MakeRun, endpoints: tuple[str, ...]) -> None:
    exit_code = run.wait_exit()
    assert postgres_processes(run.pgdata) == []
    assert not (run.pgdata / "postmaster.pid").exists()  # a server that stopped removes it
    for endpoint in endpoints:
        assert not port_open(endpoint), endpoint
    assert exit_code == 0, run.output()
    assert "Traceback" not in run.stderr_path.read_text()
    assert run.lines[-1].startswith("Stopped:"), run.output()


def endpoints(run: MakeRun) -> tuple[str, ...]:
    return (run.runtime["database_url"], run.runtime["dynamodb_endpoint"], run.url)


def ctrl_c_then_make_forwards_a_second_signal(run: MakeRun) -> None:
    run.signal_group(signal.SIGINT)
    run.wait_for("Stopping")
    run.signal(signal.SIGTERM)  # lands in the stop: PostgreSQL is being stopped


def test_restarting_make_run_sends_no_notification_twice_and_keeps_the_cooldowns(
    make_run: MakeRun,
) -> None:
    first = make_run.start()
    sent = first.sent_at_start()
    first.wait_for("Inbox")  # after the demo's delivery and the run that ends its episodes
    notifications = first.notification_count()
    resolved = first.notification_count("alert_resolved")
    stats = first.cooldown_stats()
    assert sent > 0
    assert resolved > 0
    assert notifications == sent + resolved
    # Each resolved episode's cooldown was released: a new outage would alert at once.
    assert stats["total_entries"] == sent - resolved
    # Delivered as in AWS: the first run's storm as one digest to the demo webhook (its
    # signature verified by the local receiver), the resolution after it, and e-mails in the
    # outbox.
    output = first.output()
    assert "webhook demo: notification.digest" in output
    assert "webhook demo: notification.resolved" in output
    assert "-> 401" not in output
    emails = sorted((make_run.state_dir / "outbox").glob("*.eml"))
    assert len(emails) == 2, output
    first.signal(signal.SIGTERM)  # a supervisor's stop
    assert_everything_stopped(first, endpoints(first))

    def restart() -> MakeRun:
        run = make_run.start()
        assert run.sent_at_start() == 0, run.output()
        assert "No new notifications" in run.output()
        assert "webhook demo:" not in run.output()  # nothing delivered twice
        assert run.notification_count() == notifications
        assert run.cooldown_stats() == stats
        return run

    run = restart()
    ctrl_c_then_make_forwards_a_second_signal(run)
    assert_everything_stopped(run, endpoints(run))

    # A crash: nothing is cleaned up, PostgreSQL keeps running (the next start reuses it) and
    # the journal has what was fsync'd before each answer.
    run = restart()
    run.signal_group(signal.SIGKILL)
    run.wait_exit()

    run = restart()
    run.signal(signal.SIGTERM)
    assert_everything_stopped(run, endpoints(run))


def test_a_second_signal_during_the_stop_still_stops_postgres_and_moto(
    make_run: MakeRun,
) -> None:
    run = make_run.start()

    ctrl_c_then_make_forwards_a_second_signal(run)

    assert_everything_stopped(run, endpoints(run))


def test_one_sigterm_during_start_up_stops_postgres_and_moto(make_run: MakeRun) -> None:
    make_run.launch()
    database = make_run.wait_for("PostgreSQL (embedded) at").rsplit(" ", 1)[1]
    dynamodb = make_run.wait_for("DynamoDB (moto) at").rsplit(" ", 1)[1]
    make_run.wait_for("Monitor (as the EventBridge rule runs it)")

    make_run.signal(signal.SIGTERM)

    assert_everything_stopped(make_run, (database, dynamodb, make_run.url))
    assert "Up in" not in make_run.output()
