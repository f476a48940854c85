"""Episodes (SPEC §9) through the real handlers: the monitor fed EventBridge's scheduled event,
the inbox fed its HTTP API events, PostgreSQL and moto's DynamoDB server.

The clock is moved with time-machine (the handlers read the real time), so a run "30 minutes
later" is one call away; every run is the scheduled handler's, as in AWS.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest

from functions.inbox_list import app as inbox_list
from functions.inventory_monitor import app as inventory_monitor
from tests.support.catalog import component, insert_catalog, package
from tests.support.events import FakeLambdaContext, http_event, load_event, response_json
from tests.support.sales import insert_sales
from tests.support.scheduled_runs import at, monitor_at

EVENING = datetime(2025, 10, 21, 18, 0, tzinfo=UTC)

# One margarita needs 1 lime; 20 can normally be sold, so 3 limes is low and 0 unavailable.
MARGARITA = package("Margarita", [component("Limes", 1, 10)], normal=20)
LIMES = MARGARITA.components[0].product_id


@pytest.fixture
def bar(db: psycopg.Connection[Any], cooldown_table: str) -> psycopg.Connection[Any]:
    insert_catalog(db, [MARGARITA])
    return db


def set_limes(db: psycopg.Connection[Any], stock: int) -> None:
    db.execute("UPDATE products SET current_stock = %s WHERE id = %s", (stock, LIMES))


def inbox(**query: str) -> list[dict[str, Any]]:
    response = inbox_list.lambda_handler(
        http_event("inbox_list.json", query=query), FakeLambdaContext()
    )
    assert response["statusCode"] == 200, response["body"]
    items: list[dict[str, Any]] = response_json(response)["data"]
    return items


def rows(db: psycopg.Connection[Any], type_: str | None = None) -> list[dict[str, Any]]:
    with db.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        return cursor.execute(
            "SELECT id, type, priority, title, reference_id, data, created_at, resolved_at,"
            " episode_id"
            " FROM notifications WHERE %(type)s::text IS NULL OR type = %(type)s"
            " ORDER BY created_at, id",
            {"type": type_},
        ).fetchall()


def test_sold_out_restocked_and_clear_for_the_rearm_window_resolves_then_a_new_outage_alerts(
    bar: psycopg.Connection[Any],
) -> None:
    set_limes(bar, 0)
    assert monitor_at(EVENING)["notifications_sent"] == 1
    [alert] = rows(bar, "package_unavailable")
    assert alert["resolved_at"] is None
    assert [item["id"] for item in inbox(state="open")] == [str(alert["id"])]

    set_limes(bar, 15)  # restocked at 18:30: the first run that sees it clear starts the clock
    for minutes in (30, 40, 50):
        summary = monitor_at(EVENING + timedelta(minutes=minutes))
        assert summary["episodes_resolved"] == 0
        assert rows(bar, "alert_resolved") == []

    summary = monitor_at(EVENING + timedelta(minutes=60))  # clear since 18:30: 30 minutes

    assert summary["episodes_resolved"] == 1
    [notice] = rows(bar, "alert_resolved")
    assert notice["priority"] == "low"
    assert notice["reference_id"] == MARGARITA.package_id
    assert notice["data"]["resolved_notification_id"] == str(alert["id"])
    assert notice["data"]["resolved_type"] == "package_unavailable"
    assert notice["data"]["duration_seconds"] == 30 * 60  # 18:00 alert to 18:30 clear
    assert notice["episode_id"] == alert["episode_id"]
    [closed] = rows(bar, "package_unavailable")
    assert closed["resolved_at"] is not None
    assert inbox(state="open") == []
    resolved = inbox(state="resolved")
    assert [item["id"] for item in resolved] == [str(notice["id"]), str(alert["id"])]
    assert resolved[0]["title"] == "Margarita can be sold again"
    assert "lasted 30 min" in resolved[0]["message"]
    assert resolved[1]["episode_id"] == str(alert["episode_id"])

    set_limes(bar, 0)  # sold out again at 22:00, well inside the 24 h cooldown
    summary = monitor_at(EVENING + timedelta(hours=4))

    assert summary["notifications_sent"] == 1
    assert summary["notifications_suppressed"] == 0
    first, second = rows(bar, "package_unavailable")
    assert second["episode_id"] != first["episode_id"]
    assert [item["id"] for item in inbox(state="open")] == [str(second["id"])]


def test_flapping_faster_than_the_rearm_window_is_one_episode_and_one_alert(
    bar: psycopg.Connection[Any],
) -> None:
    for step in range(12):  # two hours: out, in, out, in… every ten minutes
        set_limes(bar, 0 if step % 2 == 0 else 15)
        summary = monitor_at(EVENING + timedelta(minutes=10 * step))
        assert summary["episodes_resolved"] == 0

    [alert] = rows(bar, "package_unavailable")
    assert rows(bar, "alert_resolved") == []
    assert alert["resolved_at"] is None
    episodes = bar.execute("SELECT count(*) FROM notification_episodes").fetchone()
    assert episodes == (1,)

    # Then it stays in stock: the one episode resolves once, naming the whole two hours.
    for minutes in (120, 130, 140, 150):
        monitor_at(EVENING + timedelta(minutes=minutes))
    [notice] = rows(bar, "alert_resolved")
    assert notice["data"]["duration_seconds"] == 110 * 60  # 18:00 to the 19:50 run's clear
    assert monitor_at(EVENING + timedelta(minutes=160))["episodes_resolved"] == 0


def test_a_continuing_condition_repeats_once_per_cooldown_inside_one_episode(
    bar: psycopg.Connection[Any],
) -> None:
    set_limes(bar, 0)
    sent = [
        monitor_at(EVENING + timedelta(hours=hours))["notifications_sent"]
        for hours in (0, 1, 12, 23, 24, 25)
    ]

    assert sent == [1, 0, 0, 0, 1, 0]
    first, repeat = rows(bar, "package_unavailable")
    assert repeat["episode_id"] == first["episode_id"]

    set_limes(bar, 15)
    for minutes in (0, 30):
        monitor_at(EVENING + timedelta(hours=26, minutes=minutes))
    [notice] = rows(bar, "alert_resolved")
    assert notice["data"]["resolved_notification_id"] == str(first["id"])
    assert notice["data"]["duration_seconds"] == 26 * 3600
    assert all(row["resolved_at"] is not None for row in rows(bar, "package_unavailable"))


def test_a_low_package_that_sells_out_is_still_low_and_resolves_with_its_restock(
    bar: psycopg.Connection[Any],
) -> None:
    set_limes(bar, 3)  # 3 of a normal 20: low
    monitor_at(EVENING)
    set_limes(bar, 0)  # worse, not better: the low-stock episode goes on
    for minutes in (10, 40, 70):
        assert monitor_at(EVENING + timedelta(minutes=minutes))["episodes_resolved"] == 0
    assert [r["type"] for r in rows(bar)] == ["package_low_stock", "package_unavailable"]

    set_limes(bar, 15)
    monitor_at(EVENING + timedelta(minutes=80))
    summary = monitor_at(EVENING + timedelta(minutes=110))

    assert summary["episodes_resolved"] == 2
    notices = rows(bar, "alert_resolved")
    assert sorted(n["data"]["resolved_type"] for n in notices) == [
        "package_low_stock",
        "package_unavailable",
    ]


def test_a_partial_restock_ends_the_outage_and_opens_a_low_stock_episode(
    bar: psycopg.Connection[Any],
) -> None:
    set_limes(bar, 0)
    monitor_at(EVENING)
    set_limes(bar, 3)
    assert monitor_at(EVENING + timedelta(minutes=10))["notifications_sent"] == 1
    monitor_at(EVENING + timedelta(minutes=40))

    [notice] = rows(bar, "alert_resolved")
    assert notice["data"]["resolved_type"] == "package_unavailable"
    assert [item["type"] for item in inbox(state="open")] == ["package_low_stock"]


def test_a_zero_rearm_window_resolves_on_the_first_clear_run(
    bar: psycopg.Connection[Any], service_env: pytest.MonkeyPatch
) -> None:
    service_env.setenv("NOTIFICATION_REARM_MINUTES", "0")
    set_limes(bar, 0)
    monitor_at(EVENING)
    set_limes(bar, 15)

    assert monitor_at(EVENING + timedelta(minutes=10))["episodes_resolved"] == 1
    [notice] = rows(bar, "alert_resolved")
    assert notice["data"]["duration_seconds"] == 600


def test_a_predicted_stockout_that_happened_goes_on_until_the_product_is_restocked(
    db: psycopg.Connection[Any], cooldown_table: str
) -> None:
    # Mint is in no package: only the stockout rule looks at it. 10 a day for 28 days, 15
    # left: it runs out in 1.5 days.
    mint = UUID(int=0x4D1A7)
    db.execute("INSERT INTO products (id, name, current_stock) VALUES (%s, 'Mint', 15)", (mint,))
    days = [EVENING - timedelta(days=d, hours=1) for d in range(28)]
    insert_sales(db, [("product", mint, Decimal(10), t) for t in days])
    monitor_at(EVENING)
    assert [r["type"] for r in rows(db)] == ["stockout_predicted"]

    db.execute("UPDATE products SET current_stock = 0 WHERE id = %s", (mint,))
    for minutes in (10, 40, 70):  # ran out as predicted: no prediction now, still out
        assert monitor_at(EVENING + timedelta(minutes=minutes))["episodes_resolved"] == 0
    # A month later nothing was sold (there was none): no usage left, still out.
    month = EVENING + timedelta(days=30)
    for minutes in (0, 30, 60):
        assert monitor_at(month + timedelta(minutes=minutes))["episodes_resolved"] == 0
    assert [r["type"] for r in rows(db)] == ["stockout_predicted"]

    db.execute("UPDATE products SET current_stock = 500 WHERE id = %s", (mint,))
    monitor_at(month + timedelta(minutes=80))
    assert monitor_at(month + timedelta(minutes=110))["episodes_resolved"] == 1
    [notice] = rows(db, "alert_resolved")
    assert notice["title"] == "Mint is no longer expected to run out"


@contextmanager
def dynamodb_unreachable() -> Iterator[None]:
    """The container's cooldown store talks to a port nobody listens on, then to moto again."""
    import boto3
    from botocore.config import Config

    from inventory.data.cooldowns import get_cooldown_store
    from tests.support.services import free_port

    store: Any = get_cooldown_store()
    working = store._dynamodb()
    store._client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        config=Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1}),
    )
    try:
        yield
    finally:
        store._client = working


def test_the_next_run_releases_a_cooldown_that_a_failed_release_left(
    bar: psycopg.Connection[Any],
) -> None:
    set_limes(bar, 0)
    monitor_at(EVENING)
    set_limes(bar, 15)
    monitor_at(EVENING + timedelta(minutes=10))

    with dynamodb_unreachable(), at(EVENING + timedelta(minutes=40)):
        result = inventory_monitor.lambda_handler(
            load_event("inventory_monitor_scheduled.json"), FakeLambdaContext()
        )
    # Resolved in PostgreSQL, the entry still there: said, and left for the next run.
    assert result["success"] is True
    assert result["summary"]["episodes_resolved"] == 1
    assert [e for e in result["summary"]["errors"] if "retried next run" in e] != []
    unreleased = bar.execute(
        "SELECT count(*) FROM notification_episodes WHERE cooldown_released_at IS NULL"
    ).fetchone()
    assert unreleased == (1,)

    monitor_at(EVENING + timedelta(minutes=50))  # releases what the last run could not
    set_limes(bar, 0)
    assert monitor_at(EVENING + timedelta(minutes=60))["notifications_sent"] == 1
    assert len(rows(bar, "alert_resolved")) == 1


def test_a_run_out_of_time_leaves_the_episodes_to_the_next_run(
    bar: psycopg.Connection[Any],
) -> None:
    set_limes(bar, 0)
    monitor_at(EVENING)
    set_limes(bar, 15)
    monitor_at(EVENING + timedelta(minutes=10))
    # Four seconds left is inside the reserve: the run claims nothing and ends no episode.
    hurried = FakeLambdaContext()
    hurried.get_remaining_time_in_millis = lambda: 4_000  # type: ignore[method-assign]
    with at(EVENING + timedelta(minutes=40)):
        result = inventory_monitor.lambda_handler(
            load_event("inventory_monitor_scheduled.json"), hurried
        )
    assert result["summary"]["episodes_resolved"] == 0
    assert rows(bar, "alert_resolved") == []

    assert monitor_at(EVENING + timedelta(minutes=50))["episodes_resolved"] == 1


def test_a_run_out_of_time_still_sees_a_condition_come_back(
    bar: psycopg.Connection[Any],
) -> None:
    set_limes(bar, 0)
    monitor_at(EVENING)
    set_limes(bar, 15)
    monitor_at(EVENING + timedelta(minutes=10))  # clear since 18:10
    set_limes(bar, 0)  # back at 18:20, seen by a run with no time left for anything else
    hurried = FakeLambdaContext()
    hurried.get_remaining_time_in_millis = lambda: 4_000  # type: ignore[method-assign]
    with at(EVENING + timedelta(minutes=20)):
        inventory_monitor.lambda_handler(load_event("inventory_monitor_scheduled.json"), hurried)
    set_limes(bar, 15)
    monitor_at(EVENING + timedelta(minutes=30))  # clear again, since 18:30

    # 18:10 + 30 min would have resolved it; clear only since 18:30, it goes on.
    assert monitor_at(EVENING + timedelta(minutes=40))["episodes_resolved"] == 0
    assert monitor_at(EVENING + timedelta(minutes=60))["episodes_resolved"] == 1
    [notice] = rows(bar, "alert_resolved")
    assert notice["data"]["duration_seconds"] == 30 * 60  # 18:00 to the 18:30 clear
