"""A manual package or bottleneck check stores the notification the monitor would store.

The checks read the limiting products' details on their own paths (no usage statement), so
this pins their texts and figures to the monitor's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from inventory.data.cooldowns import get_cooldown_store
from inventory.services.manual_checks import check_bottlenecks, check_package
from inventory.services.monitor import run_monitor
from tests.support.catalog import component, insert_catalog, package

NOW = datetime(2025, 10, 21, 12, 0, tzinfo=UTC)
# Vodka (ml) and an inactive Lime tie as limiting components of both packages.
SHOT = package("Vodka shot", [component("Vodka", 50, 0), component("Lime", 1, 3, active=False)])
DOUBLE = package("Double shot", [component("Vodka", 100, 0), component("Lime", 2, 3, active=False)])


@pytest.fixture
def bar(db: psycopg.Connection[Any], cooldown_table: str) -> psycopg.Connection[Any]:
    insert_catalog(db, [SHOT, DOUBLE])
    db.execute("UPDATE products SET unit = 'ml' WHERE name = 'Vodka'")
    return db


def _stored(db: psycopg.Connection[Any], kind: str) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT reference_id, title, message, data FROM notifications WHERE type = %s"
        " ORDER BY reference_id",
        (kind,),
    ).fetchall()


def _monitor_then_forget(db: psycopg.Connection[Any], kind: str) -> list[tuple[Any, ...]]:
    assert run_monitor(NOW).summary.errors == []
    stored = _stored(db, kind)
    db.execute("TRUNCATE notification_deliveries, notification_episodes, notifications")
    get_cooldown_store().clear()
    return stored


def test_package_check_stores_the_monitors_text_and_figures(
    bar: psycopg.Connection[Any],
) -> None:
    by_monitor = _monitor_then_forget(bar, "package_unavailable")

    for spec in (SHOT, DOUBLE):
        assert check_package(spec.package_id, now=NOW).triggered is True

    assert _stored(bar, "package_unavailable") == by_monitor
    messages = " ".join(row[2] for row in by_monitor)
    assert "Lime is inactive, so none of it can be sold (also limited by Vodka)" in messages


def test_bottleneck_check_stores_the_monitors_text_and_figures(
    bar: psycopg.Connection[Any],
) -> None:
    by_monitor = _monitor_then_forget(bar, "package_bottleneck")

    results = check_bottlenecks(now=NOW)

    assert [r.triggered for r in results] == [True, True]  # Lime and Vodka
    assert _stored(bar, "package_bottleneck") == by_monitor
    messages = " ".join(row[2] for row in by_monitor)
    assert "Vodka has 0 ml in stock." in messages
    assert "Lime is inactive." in messages
