"""The monitor's two reads run at once on two connections that see one snapshot."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg.pq import TransactionStatus

from inventory.config import get_settings
from inventory.data.db import (
    SNAPSHOT_READER,
    get_connection,
    read_in_one_snapshot,
    reset_connection,
)
from inventory.errors import DependencyUnavailableError
from inventory.services import monitor_reads
from inventory.services.monitor import run_monitor
from inventory.services.monitor_reads import load_alertable
from tests.support.catalog import component, insert_catalog, package
from tests.support.sales import insert_sales

NOW = datetime(2025, 10, 21, 12, 0, tzinfo=UTC)
# Corona: 3 left, 5 per bucket (unavailable), 10 sold a day (runs out in under a day).
BUCKET = package("Bucket of 5 Beers", [component("Corona", 5, 3)])
CORONA_ID = BUCKET.components[0].product_id


@pytest.fixture
def bucket(db: psycopg.Connection[Any], cooldown_table: str) -> psycopg.Connection[Any]:
    insert_catalog(db, [BUCKET])
    days = [NOW - timedelta(days=d, hours=1) for d in range(28)]
    insert_sales(db, [("product", CORONA_ID, 10, t) for t in days])
    return db


def _both_idle() -> bool:
    connections = get_connection(), get_connection(SNAPSHOT_READER)
    return all(c.info.transaction_status is TransactionStatus.IDLE for c in connections)


def test_a_stock_change_committed_after_the_export_shows_in_neither_read(
    bucket: psycopg.Connection[Any],
) -> None:
    def restock() -> None:
        # Committed (autocommit) before the reader has even begun its transaction.
        bucket.execute("UPDATE products SET current_stock = 4 WHERE id = %s", (CORONA_ID,))

    snapshot = load_alertable(get_settings(), NOW, after_export=restock)

    [problem] = snapshot.problems.packages
    [candidate] = snapshot.candidates.products
    assert problem.bottleneck is not None
    assert problem.bottleneck.current_stock == 3
    assert snapshot.problems.limiting_products[CORONA_ID].current_stock == 3
    assert (candidate.product_id, candidate.current_stock) == (CORONA_ID, Decimal(3))
    # The change did commit: a read after the run sees it.
    assert bucket.execute("SELECT current_stock FROM products").fetchone() == (4,)
    assert _both_idle()


def test_a_failing_read_on_the_second_connection_fails_the_run_and_the_next_run_works(
    bucket: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_candidates(connection: psycopg.Connection[Any], *_: Any, **__: Any) -> Any:
        return connection.execute("SELECT 1 / 0").fetchall()

    with monkeypatch.context() as patch:
        patch.setattr(monitor_reads, "fetch_stockout_candidates", failing_candidates)
        failed = run_monitor(NOW)
    main, reader = get_connection(), get_connection(SNAPSHOT_READER)

    assert failed.success is False
    assert failed.summary.errors == ["evaluation failed: DivisionByZero: division by zero"]
    assert _both_idle()
    later = run_monitor(NOW)
    assert later.success is True
    assert later.summary.errors == []
    assert later.summary.notifications_sent == 2  # package_unavailable, stockout_predicted
    # The same two connections served it: nothing had to be reopened.
    assert (get_connection(), get_connection(SNAPSHOT_READER)) == (main, reader)


def test_a_failure_on_the_main_connection_cancels_the_other_read(
    db: psycopg.Connection[Any], service_env: pytest.MonkeyPatch
) -> None:
    service_env.setenv("DB_STATEMENT_TIMEOUT_MS", "120000")
    service_env.setenv("DB_DEADLINE_SECONDS", "180")
    get_settings.cache_clear()
    reset_connection()
    started = time.monotonic()

    with pytest.raises(psycopg.errors.DivisionByZero):
        read_in_one_snapshot(
            lambda connection: connection.execute("SELECT 1 / 0").fetchall(),
            lambda connection: connection.execute("SELECT pg_sleep(60)").fetchall(),
        )

    assert time.monotonic() - started < 30  # cancelled, not waited for (60 s)
    assert _both_idle()
    assert get_connection().execute("SELECT 1 AS one").fetchone() == {"one": 1}


def test_a_reader_connection_dropped_mid_read_reads_again_in_a_new_snapshot(
    bucket: psycopg.Connection[Any],
) -> None:
    reader = get_connection(SNAPSHOT_READER)
    exports = []

    def drop_reader() -> None:
        exports.append(1)
        bucket.execute("SELECT pg_terminate_backend(%s, 5000)", (reader.info.backend_pid,))

    snapshot = load_alertable(get_settings(), NOW, after_export=drop_reader)

    assert len(exports) == 2  # the whole read again: a new snapshot, both sides
    assert [p.package_id for p in snapshot.problems.packages] == [BUCKET.package_id]
    assert _both_idle()
    assert get_connection(SNAPSHOT_READER) is not reader


def test_a_reader_connection_dropped_on_every_attempt_is_reported_and_reopened(
    bucket: psycopg.Connection[Any],
) -> None:
    def drop_reader() -> None:
        pid = get_connection(SNAPSHOT_READER).info.backend_pid
        bucket.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))

    with pytest.raises(DependencyUnavailableError, match="did not answer"):
        load_alertable(get_settings(), NOW, after_export=drop_reader)

    assert get_connection().info.transaction_status is TransactionStatus.IDLE
    assert run_monitor(NOW).success is True
