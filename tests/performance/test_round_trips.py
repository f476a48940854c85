"""Computing every package's availability, and a monitor run, cost the same SQL round trips
at any size."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from functions.packages_availability import app as packages_availability
from inventory.data.cooldowns import get_cooldown_store
from inventory.data.db import SNAPSHOT_READER, get_connection
from inventory.services import monitor
from inventory.services.monitor import run_monitor
from tests.support.catalog import component, insert_catalog, package
from tests.support.events import FakeLambdaContext, load_event, response_json
from tests.support.statements import counting_statements

NOW = datetime(2025, 10, 21, 12, 0, tzinfo=UTC)


def _generate_catalog(connection: psycopg.Connection[Any], packages: int) -> None:
    """`packages` packages of 4 components over packages/4 products, generated in SQL."""
    products = max(1, packages // 4)
    connection.execute(
        "INSERT INTO products (id, name, current_stock, par_level)"
        " SELECT gen_random_uuid(), 'Product ' || i, (i %% 37)::numeric / 4, 40"
        " FROM generate_series(1, %s) AS i",
        (products,),
    )
    connection.execute(
        "INSERT INTO packages (id, name) SELECT gen_random_uuid(), 'Package ' || i"
        " FROM generate_series(1, %s) AS i",
        (packages,),
    )
    connection.execute(
        """
        WITH numbered_products AS (
            SELECT id, row_number() OVER (ORDER BY name) - 1 AS n FROM products
        ), numbered_packages AS (
            SELECT id, row_number() OVER (ORDER BY name) - 1 AS n FROM packages
        )
        INSERT INTO package_items (package_id, product_id, quantity)
        SELECT pk.id, p.id, 0.5 + k
        FROM numbered_packages pk
        CROSS JOIN generate_series(0, 3) AS k
        JOIN numbered_products p ON p.n = (pk.n + k * 7) %% %s
        ON CONFLICT DO NOTHING
        """,
        (products,),
    )


def _statements_for_listing(
    db: psycopg.Connection[Any], packages: int, context: FakeLambdaContext
) -> tuple[int, int]:
    db.execute("TRUNCATE package_items, packages, products CASCADE")
    _generate_catalog(db, packages)
    connection = get_connection()
    with counting_statements(connection) as counter:
        response = packages_availability.lambda_handler(
            load_event("packages_availability.json"), context
        )
    assert response["statusCode"] == 200
    return counter.count, len(response_json(response)["data"])


def test_listing_costs_the_same_statements_for_10_and_8000_packages(
    db: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    small, small_items = _statements_for_listing(db, 10, lambda_context)
    large, large_items = _statements_for_listing(db, 8_000, lambda_context)
    assert (small_items, large_items) == (10, 8_000)
    assert small == large
    assert 1 <= small <= 2


def _statements_for_monitor(db: psycopg.Connection[Any], packages: int) -> tuple[int, int]:
    db.execute(
        "TRUNCATE notification_episodes, notifications, package_items, packages, products CASCADE"
    )
    _generate_catalog(db, packages)
    connections = get_connection(), get_connection(SNAPSHOT_READER)
    with counting_statements(*connections) as counter:
        result = run_monitor(datetime(2025, 10, 21, 12, 0, tzinfo=UTC))
    assert result.success is True
    return counter.count, result.summary.packages_checked


def test_monitor_run_costs_the_same_statements_for_10_and_1000_packages(
    db: psycopg.Connection[Any], cooldown_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The run itself; rebuilding the usage base after it is counted in test_usage_base.
    monkeypatch.setattr(monitor, "keep_usage_base", lambda *_: False)
    small, small_checked = _statements_for_monitor(db, 10)
    large, large_checked = _statements_for_monitor(db, 1000)
    assert (small_checked, large_checked) == (10, 1000)
    assert small == large
    # Per connection: BEGIN, export or import of the snapshot, its reads (a part of the problem
    # packages; the reader's also the usage), COMMIT; the episode sweep; one insert. (No
    # STOCK_EVENT_BUS_NAME here: the stock event sweep sends nothing; counted below.)
    assert small == 4 + 5 + 1 + 1


def test_run_costs_the_same_round_trips_for_10_and_100_packages(
    db: psycopg.Connection[Any], cooldown_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The run itself; rebuilding the usage base after it is counted in test_usage_base.
    monkeypatch.setattr(monitor, "keep_usage_base", lambda *_: False)

    def statements(count: int) -> int:
        db.execute(
            "TRUNCATE notification_deliveries, notification_episodes, notifications, order_items,"
            " package_items, packages, products CASCADE"
        )
        specs = [package(f"P{i}", [component(f"Item {i}", 1, 0)]) for i in range(count)]
        insert_catalog(db, specs)
        get_cooldown_store().clear()
        connections = get_connection(), get_connection(SNAPSHOT_READER)
        with counting_statements(*connections) as counter:
            result = run_monitor(NOW)
        assert result.summary.notifications_sent == count
        return counter.count

    # Each connection: BEGIN, its snapshot (export / import), its reads (one part of the
    # problem packages; the reader's also the usage), COMMIT; the episode sweep; the insert.
    assert statements(10) == statements(100) == 4 + 5 + 1 + 1


def test_ending_10_or_100_episodes_costs_the_same_round_trips(
    db: psycopg.Connection[Any], cooldown_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(monitor, "keep_usage_base", lambda *_: False)
    monkeypatch.setenv("NOTIFICATION_REARM_MINUTES", "0")
    from inventory.config import get_settings

    get_settings.cache_clear()

    def statements(count: int) -> int:
        db.execute(
            "TRUNCATE notification_deliveries, notification_episodes, notifications, order_items,"
            " package_items, packages, products CASCADE"
        )
        specs = [package(f"P{i}", [component(f"Item {i}", 1, 0)]) for i in range(count)]
        insert_catalog(db, specs)
        get_cooldown_store().clear()
        assert run_monitor(NOW).summary.notifications_sent == count
        db.execute("UPDATE products SET current_stock = 10")
        connections = get_connection(), get_connection(SNAPSHOT_READER)
        with counting_statements(*connections) as counter:
            result = run_monitor(NOW + timedelta(minutes=10))
        assert result.summary.episodes_resolved == count
        assert result.summary.errors == []
        return counter.count

    # The reads' 4 + 5; the sweep, the resolution, the release mark; nothing to insert.
    assert statements(10) == statements(100) == 4 + 5 + 3


def test_delivering_to_subscribers_adds_two_round_trips_at_any_size(
    db: psycopg.Connection[Any],
    cooldown_table: str,
    moto_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.support.delivery import set_up_delivery
    from tests.support.subscriptions import add_subscription

    monkeypatch.setattr(monitor, "keep_usage_base", lambda *_: False)
    aws = set_up_delivery(moto_endpoint, monkeypatch)
    from inventory.config import get_settings
    from inventory.data.db import reset_connection

    get_settings.cache_clear()
    reset_connection()

    def statements(count: int) -> int:
        db.execute(
            "TRUNCATE notification_deliveries, notification_subscriptions,"
            " notification_episodes, notifications, order_items, package_items, packages,"
            " products CASCADE"
        )
        add_subscription(db, "webhook", "https://hooks.example.com/a")
        add_subscription(db, "email", "manager@example.com")
        specs = [package(f"P{i}", [component(f"Item {i}", 1, 0)]) for i in range(count)]
        insert_catalog(db, specs)
        get_cooldown_store().clear()
        queued = aws.queued()
        connections = get_connection(), get_connection(SNAPSHOT_READER)
        with counting_statements(*connections) as counter:
            result = run_monitor(NOW)
        assert result.summary.notifications_sent == count
        # Each notification to both subscribers and the topic (ten to a message), but a storm
        # of more than 20 for one subscriber is one digest.
        owed = 2 * count + -(-count // 10) if count <= 20 else 2 + -(-count // 10)
        assert result.summary.deliveries_enqueued == (3 * count if count <= 20 else 2 + count)
        assert aws.queued() - queued == owed
        return counter.count

    # The run's 4 + 5 + 1 + 1 (test above), then the dispatch: the due rows and their mark.
    assert statements(10) == statements(100) == 4 + 5 + 1 + 1 + 2


def test_the_stock_event_sweep_adds_one_round_trip_and_two_when_events_are_owed_at_any_count(
    db: psycopg.Connection[Any],
    cooldown_table: str,
    moto_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from inventory.data.db import reset_connection
    from tests.support.stock_events import backdate, owe, set_up_stock_bus

    monkeypatch.setattr(monitor, "keep_usage_base", lambda *_: False)
    bus = set_up_stock_bus(moto_endpoint, monkeypatch)
    reset_connection()

    def statements(owed: int) -> int:
        db.execute("TRUNCATE stock_events")
        backdate(db, owe(db, owed))
        count, checked = _statements_for_monitor(db, 10)
        assert checked == 10
        return count

    try:
        # The run's 4 + 5 + 1 + 1 (above), then the sweep: its read of the events owed for over
        # a minute, and, when there are some, one mark of those EventBridge took (ten to a
        # PutEvents call, so 100 events cost no more statements than 10).
        assert statements(0) == 4 + 5 + 1 + 1 + 1
        assert statements(10) == statements(100) == 4 + 5 + 1 + 1 + 2
    finally:
        bus.delete()
