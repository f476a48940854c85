"""The monitor job against real PostgreSQL and moto's DynamoDB server."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from inventory.data.cooldowns import get_cooldown_store
from inventory.services.monitor import run_monitor
from tests.support import services
from tests.support.catalog import component, insert_catalog, package
from tests.support.sales import insert_sales, notification_keys
from tests.support.usage_reference import fetch_product_figures

NOW = datetime(2025, 10, 21, 12, 0, tzinfo=UTC)

BUCKET = package("Bucket of 5 Beers", [component("Corona", 5, 3)])
TOWER = package("Beer Tower", [component("Corona", 1, 3), component("Ice", 1, 500)], normal=20)
MARGARITA = package("Margarita", [component("Tequila", 50, 350, par=3500)])
GIN_TONIC = package("Gin Tonic", [component("Gin", 50, 50000), component("Tonic", 1, 100)])
CATALOG = [BUCKET, TOWER, MARGARITA, GIN_TONIC]
TONIC_ID = GIN_TONIC.components[1].product_id

# Tonic: 100 left, 30 sold by the bottle and 20 Gin Tonics a day for 28 days = 50 a day.
EXPECTED = sorted(
    [
        ("package_bottleneck", BUCKET.components[0].product_id),
        ("package_low_stock", MARGARITA.package_id),
        ("package_low_stock", TOWER.package_id),
        ("package_unavailable", BUCKET.package_id),
        ("stockout_predicted", TONIC_ID),
    ]
)


@pytest.fixture
def bar(db: psycopg.Connection[Any], cooldown_table: str) -> psycopg.Connection[Any]:
    """The catalogue above with 28 days of tonic sales, and a cooldown table."""
    insert_catalog(db, CATALOG)
    days = [NOW - timedelta(days=d, hours=1) for d in range(28)]
    insert_sales(db, [("product", TONIC_ID, 30, t) for t in days])
    insert_sales(db, [("package", GIN_TONIC.package_id, 20, t) for t in days])
    return db


def test_run_sends_what_the_rules_call_for_and_reports_the_summary(
    bar: psycopg.Connection[Any],
) -> None:
    result = run_monitor(NOW)

    assert result.success is True
    assert result.timestamp == "2025-10-21T12:00:00.000Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", result.timestamp)
    assert result.duration_ms >= 0
    summary = result.summary
    assert summary.errors == []
    assert summary.packages_checked == 4
    assert summary.notifications_sent == 5
    assert summary.bottlenecks_detected == 1
    assert summary.stockouts_predicted == 1
    assert summary.products_checked == 5
    assert summary.notifications_suppressed == 0
    assert notification_keys(bar) == EXPECTED


def test_stored_notification_has_title_message_and_figures(bar: psycopg.Connection[Any]) -> None:
    run_monitor(NOW)
    row = bar.execute(
        "SELECT priority, title, message, reference_type, data FROM notifications"
        " WHERE type = 'stockout_predicted'"
    ).fetchone()
    assert row is not None
    priority, title, message, reference_type, data = row
    assert (priority, reference_type) == ("high", "product")
    assert title == "Tonic runs out in about 2 days"
    assert "Tonic will run out in about 2 days (around 2025-10-23)" in message
    assert data["avg_daily_usage"] == 50
    assert data["usage"] == 1400
    assert data["days_until_stockout"] == 2


def test_second_run_inside_the_cooldown_sends_nothing(bar: psycopg.Connection[Any]) -> None:
    run_monitor(NOW)
    second = run_monitor(NOW + timedelta(hours=23, minutes=59))
    assert second.summary.notifications_sent == 0
    assert second.summary.notifications_suppressed == 5
    assert second.summary.bottlenecks_detected == 1  # detected, though not sent
    assert len(notification_keys(bar)) == 5


def test_run_after_the_window_sends_again_though_the_expired_items_remain(
    bar: psycopg.Connection[Any], cooldown_table: str, moto_endpoint: str
) -> None:
    run_monitor(NOW)
    later = run_monitor(NOW + timedelta(hours=24, seconds=1))
    # moto never deletes expired items, so this is the "TTL has not run yet" case too.
    from tests.support.dynamo import dynamodb_client

    entries = dynamodb_client(moto_endpoint).scan(
        TableName=cooldown_table,
        FilterExpression="attribute_exists(#type)",
        ExpressionAttributeNames={"#type": "type"},
    )
    assert entries["Count"] == 5  # one per (type, reference); the digest's items have no type
    assert later.summary.notifications_sent == 5
    assert len(notification_keys(bar)) == 10


def test_cooldown_hours_zero_disables_the_cooldown(
    bar: psycopg.Connection[Any], service_env: pytest.MonkeyPatch
) -> None:
    service_env.setenv("NOTIFICATION_COOLDOWN_HOURS", "0")
    get_cooldown_store.cache_clear()
    try:
        assert run_monitor(NOW).summary.notifications_sent == 5
        assert run_monitor(NOW).summary.notifications_sent == 5
    finally:
        get_cooldown_store.cache_clear()


def test_usage_counts_direct_and_package_sales_inside_the_window_only(
    db: psycopg.Connection[Any],
) -> None:
    insert_catalog(db, [GIN_TONIC])
    gin_id = GIN_TONIC.components[0].product_id
    insert_sales(
        db,
        [
            ("product", gin_id, 100, NOW - timedelta(days=1)),
            ("package", GIN_TONIC.package_id, 3, NOW - timedelta(days=28)),  # window edge
            ("package", GIN_TONIC.package_id, 7, NOW - timedelta(days=28, seconds=1)),
            ("product", gin_id, 1000, NOW + timedelta(seconds=1)),  # after now
        ],
    )
    figures = {f.product_name: f for f in fetch_product_figures(db, NOW, 28)}
    assert figures["Gin"].usage == 100 + 3 * 50
    assert figures["Tonic"].usage == 3


def test_inactive_component_of_an_active_package_is_returned_flagged(
    db: psycopg.Connection[Any],
) -> None:
    insert_catalog(db, [package("Cider", [component("Cider", 1, 9, active=False)])])
    [cider] = fetch_product_figures(db, NOW, 28)
    assert cider.is_active is False


# --- faults ----------------------------------------------------------------------------------


def test_unreachable_database_gives_success_false_with_the_reason(
    service_env: pytest.MonkeyPatch, cooldown_table: str
) -> None:
    port = services.free_port()
    service_env.setenv("DATABASE_URL", f"postgresql://nobody@127.0.0.1:{port}/nothing")
    result = run_monitor(NOW)
    assert result.success is False
    assert result.summary.notifications_sent == 0
    assert result.summary.errors == ["evaluation failed: The database is unreachable."]
    assert get_cooldown_store().stats(NOW) == {}


def test_unreachable_dynamodb_sends_nothing_and_reports_errors(
    bar: psycopg.Connection[Any], service_env: pytest.MonkeyPatch
) -> None:
    service_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{services.free_port()}")
    get_cooldown_store.cache_clear()
    result = run_monitor(NOW)
    assert result.success is True  # the run itself went through; the sends failed
    assert result.summary.notifications_sent == 0
    assert len(result.summary.errors) == 5
    assert all("cooldown claim failed" in e for e in result.summary.errors)
    assert notification_keys(bar) == []


def test_failing_insert_releases_the_claims_and_the_next_run_sends(
    bar: psycopg.Connection[Any],
) -> None:
    bar.execute("ALTER TABLE notifications ADD CONSTRAINT test_reject_all CHECK (false) NOT VALID")
    try:
        failed = run_monitor(NOW)
    finally:
        bar.execute("ALTER TABLE notifications DROP CONSTRAINT test_reject_all")
    assert failed.success is True
    assert failed.summary.notifications_sent == 0
    assert len(failed.summary.errors) == 5
    assert "notification insert failed: CheckViolation" in failed.summary.errors[0]
    assert "claims released" in failed.summary.errors[0]
    assert get_cooldown_store().stats(NOW) == {}

    retry = run_monitor(NOW + timedelta(minutes=10))
    assert retry.summary.notifications_sent == 5
    assert notification_keys(bar) == EXPECTED


def test_a_run_out_of_time_defers_its_claims_and_the_next_run_sends_them_once(
    bar: psycopg.Connection[Any],
) -> None:
    from inventory.deadline import MonotonicDeadline

    late = run_monitor(NOW, deadline=MonotonicDeadline.after(0))

    assert late.success is True
    assert late.summary.notifications_sent == 0
    assert late.summary.notifications_deferred == 5
    assert late.summary.errors == [
        "5 notifications deferred to the next run: the run reached its time limit"
    ]
    assert notification_keys(bar) == []
    assert get_cooldown_store().stats(NOW) == {}

    next_run = run_monitor(NOW + timedelta(minutes=10))
    assert next_run.summary.notifications_sent == 5
    assert next_run.summary.notifications_deferred == 0
    assert notification_keys(bar) == EXPECTED
