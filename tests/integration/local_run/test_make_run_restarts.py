"""`make run` as a real process, stopped and started again: one signal stops PostgreSQL and
moto, whatever arrives after it, and the cooldowns outlive a restart as the notifications do,
so a restarted `make run` sends nothing twice; the demo's sales (POST /api/pos/sales at every
start, the same Idempotency-Keys) are sold once, whichever record answers the retries.

Slow: each test starts PostgreSQL from an empty folder (initdb, migrations, the demo bar).
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from devtools.demo_data import DELIVERY, PACKAGES, PRODUCTS
from devtools.demo_sales import DEMO_SALES
from tests.support.make_run import MakeRun, port_open, postgres_processes

pytestmark = pytest.mark.slow

# What services/sales.py logs when PostgreSQL's write_requests answers a retry (Powertools'
# record in DynamoDB answers without running the function, so without a line).
ANSWERED_BY_POSTGRES = "Write answered from its committed record"


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


def demo_sale_lines(run: MakeRun) -> list[str]:
    return [line.strip() for line in run.lines if line.strip().startswith("demo-sale-")]


def stock_after_one_of_each_demo_sale() -> dict[str, Decimal]:
    """The demo bar's stock once each cart was sold once and the gin arrived."""
    recipes = {name: items for name, _, _, items in PACKAGES}
    stock = {name: Decimal(level) for name, _, _, level, _ in PRODUCTS}
    for sale in DEMO_SALES:
        for name, quantity in sale.lines:
            for component, per_package in recipes.get(name, [(name, "1")]):
                stock[component] -= Decimal(per_package) * quantity
    delivered, amount, _ = DELIVERY
    stock[delivered] += amount
    return stock


def products_each_demo_sale_deducts() -> int:
    recipes = {name: items for name, _, _, items in PACKAGES}
    return sum(
        len(
            {
                component
                for name, _ in sale.lines
                for component, _ in recipes.get(name, [(name, "1")])
            }
        )
        for sale in DEMO_SALES
    )


def assert_the_demo_sales_were_answered_from_their_records(run: MakeRun) -> None:
    lines = demo_sale_lines(run)
    assert len(lines) == len(DEMO_SALES), run.output()
    assert all("already recorded" in line for line in lines), run.output()


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
    # The demo bar sold each cart once through the route, before the monitor's first run.
    lines = demo_sale_lines(first)
    assert len(lines) == len(DEMO_SALES), output
    assert all(", deducted " in line for line in lines), output
    assert output.index("demo-sale-1") < output.index("monitor ok")
    sold = first.sales_recorded()
    assert sold["sales"] == sold["write_requests"] == len(DEMO_SALES)
    assert sold["sale_items"] == sum(len(sale.lines) for sale in DEMO_SALES)
    assert sold["sale_movements"] == products_each_demo_sale_deducts()
    assert sold["off_ledger"] == 0  # the ledger's deltas sum to every product's stock
    assert sold["stock"] == stock_after_one_of_each_demo_sale()
    first.signal(signal.SIGTERM)  # a supervisor's stop
    assert_everything_stopped(first, endpoints(first))

    def restart() -> MakeRun:
        run = make_run.start()
        assert run.sent_at_start() == 0, run.output()
        assert "No new notifications" in run.output()
        assert "webhook demo:" not in run.output()  # nothing delivered twice
        assert run.notification_count() == notifications
        assert run.cooldown_stats() == stats
        assert_the_demo_sales_were_answered_from_their_records(run)
        assert run.sales_recorded() == sold  # nothing sold twice
        return run

    # Answered by Powertools' records, restored from the journal: the function never ran.
    run = restart()
    assert run.function_log_count(ANSWERED_BY_POSTGRES) == 0
    records = run.idempotency_table().scan()["Items"]
    assert Counter(item["status"] for item in records) == {"COMPLETED": len(DEMO_SALES)}
    # Those records gone (as after their day, or a deleted journal): PostgreSQL answers next.
    for item in records:
        run.idempotency_table().delete_item(Key={"id": item["id"]})
    ctrl_c_then_make_forwards_a_second_signal(run)
    assert_everything_stopped(run, endpoints(run))

    # A crash: nothing is cleaned up, PostgreSQL keeps running (the next start reuses it) and
    # the journal has what was fsync'd before each answer.
    run = restart()
    assert run.function_log_count(ANSWERED_BY_POSTGRES) == len(DEMO_SALES)
    run.signal_group(signal.SIGKILL)
    run.wait_exit()

    # The answers PostgreSQL gave are Powertools' records again.
    run = restart()
    assert run.function_log_count(ANSWERED_BY_POSTGRES) == len(DEMO_SALES)
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
