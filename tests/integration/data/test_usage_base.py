"""The usage base (migration 0004, data/usage_base.py): exact usage from a span's totals.

Every test compares the usage the monitor reads with a base against the same read with the
base ignored (the whole window summed), on a real PostgreSQL, around the server's own clock.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, LiteralString

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.config import get_settings
from inventory.data import usage_base
from inventory.data.db import reset_connection
from inventory.data.usage import fetch_stockout_candidates
from inventory.rules.alerts import ProductFigures
from inventory.services.monitor import run_monitor
from inventory.services.usage_upkeep import keep_usage_base
from tests.support import services
from tests.support.catalog import component, insert_catalog, package
from tests.support.fault_postgres import url_through
from tests.support.fault_proxy import answer_dropping_proxy
from tests.support.sales import insert_sales
from tests.support.usage_reference import fetch_product_figures

LOOKBACK = 28
BEER, LIME, RUM = (
    component(name, quantity, 500)
    for name, quantity in (("Beer", 5), ("Lime", "0.25"), ("Rum", "0.05"))
)
BUCKET = package("Bucket", [BEER])
MOJITO = package("Mojito", [LIME, RUM])


def _db_now(db: psycopg.Connection[Any]) -> datetime:
    row = db.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def _usage(figures: list[ProductFigures]) -> dict[uuid.UUID, Decimal]:
    # Every figure read with its usage has one (None only for products named without it).
    return {f.product_id: f.usage or Decimal(0) for f in figures}


def _whole_window(db: psycopg.Connection[Any], now: datetime) -> dict[uuid.UUID, Decimal]:
    """The same read with the base made not to count (rolled back afterwards)."""
    with db.transaction(force_rollback=True):
        db.execute("UPDATE usage_base_state SET changes = changes + 1")
        return _usage(fetch_product_figures(db, now, LOOKBACK))


def _base_counts(db: psycopg.Connection[Any], now: datetime) -> bool:
    """A base exists, nothing it summed has changed, and its span ends inside the window."""
    candidates = fetch_stockout_candidates(
        db, now, lookback_days=LOOKBACK, prediction_days=Decimal(7)
    )
    row = db.execute(
        "SELECT hi BETWEEN %s AND %s FROM usage_base", (now - timedelta(days=LOOKBACK), now)
    ).fetchone()
    return candidates.usage_base_built_at is not None and row is not None and row[0] is True


def _build(db: psycopg.Connection[Any]) -> None:
    """A build, retried while another test worker's write is in flight (one shared server)."""
    for _ in range(20):
        outcome = usage_base.build(db, LOOKBACK)
        if outcome.built:
            return
        assert outcome.reason == "writers still in flight at the fence"
    raise AssertionError("no build in 20 attempts")


def _catalogue(db: psycopg.Connection[Any]) -> None:
    insert_catalog(db, [BUCKET, MOJITO])


# Sales at offsets from the server's clock: inside the span, before and after it, just inside
# the window's start and just outside it, minutes ago (after hi), in the future.
OFFSETS = [
    timedelta(days=d, hours=h)
    for d, h in ((0, 0), (0, 0.2), (0, 0.9), (0, 1.5), (1, 0), (5, 3), (27, 23), (28, 0.2))
]
sales = st.lists(
    st.tuples(
        st.sampled_from(["Bucket", "Mojito", "Beer", "Lime"]),
        st.sampled_from(["1", "2", "0.5", "3.125"]),
        st.sampled_from(OFFSETS),
    ),
    min_size=1,
    max_size=12,
)
REFS = {
    "Bucket": ("package", BUCKET.package_id),
    "Mojito": ("package", MOJITO.package_id),
    "Beer": ("product", BEER.product_id),
    "Lime": ("product", LIME.product_id),
}


def _sell(
    db: psycopg.Connection[Any], rows: list[tuple[str, str, timedelta]], at: datetime
) -> None:
    insert_sales(
        db, [(REFS[name][0], REFS[name][1], Decimal(q), at - ago) for name, q, ago in rows]
    )


@settings(max_examples=40, deadline=None)
@given(before=sales, after=sales, read_later=st.sampled_from([0, 30, 90, 600]))
def test_usage_with_the_base_equals_the_whole_window(
    db: psycopg.Connection[Any],
    database_url: str,
    before: list[tuple[str, str, timedelta]],
    after: list[tuple[str, str, timedelta]],
    read_later: int,
) -> None:
    services.truncate_all(database_url)
    _catalogue(db)
    built_at = _db_now(db)
    _sell(db, before, built_at)
    _build(db)
    # Sales after the build dated minutes ago: not late, so the base still counts.
    recent = [(n, q, ago) for n, q, ago in after if ago < timedelta(hours=1)]
    _sell(db, recent, _db_now(db))
    now = _db_now(db) + timedelta(minutes=read_later)  # the window slides past lo

    assert _base_counts(db, now)
    assert _usage(fetch_product_figures(db, now, LOOKBACK)) == _whole_window(db, now)


def test_a_late_sale_stops_the_base_counting_and_is_counted(db: psycopg.Connection[Any]) -> None:
    _catalogue(db)
    now = _db_now(db)
    insert_sales(db, [("package", BUCKET.package_id, 2, now - timedelta(days=3))])
    _build(db)
    assert _base_counts(db, _db_now(db))

    # A sale backdated two days, written now (an offline till syncing): the base lacks it.
    insert_sales(db, [("package", BUCKET.package_id, 1, now - timedelta(days=2))])
    later = _db_now(db)

    assert not _base_counts(db, later)
    assert _usage(fetch_product_figures(db, later, LOOKBACK))[BEER.product_id] == 15


def test_edits_of_old_sales_and_of_compositions_stop_the_base_counting(
    db: psycopg.Connection[Any],
) -> None:
    _catalogue(db)
    now = _db_now(db)
    insert_sales(db, [("package", MOJITO.package_id, 4, now - timedelta(days=3))])
    edits: list[tuple[LiteralString, tuple[Any, ...]]] = [
        ("UPDATE order_items SET quantity = 5", ()),
        ("UPDATE package_items SET quantity = 0.5 WHERE product_id = %s", (LIME.product_id,)),
        ("DELETE FROM order_items", ()),
    ]
    expected_lime = [Decimal("1.25"), Decimal("2.5"), Decimal(0)]
    for (edit, params), lime in zip(edits, expected_lime, strict=True):
        _build(db)
        assert _base_counts(db, _db_now(db))
        db.execute(edit, params)
        later = _db_now(db)
        assert not _base_counts(db, later), edit
        assert _usage(fetch_product_figures(db, later, LOOKBACK))[LIME.product_id] == lime


def test_an_edit_of_a_sale_dated_after_the_span_keeps_the_base(db: psycopg.Connection[Any]) -> None:
    _catalogue(db)
    now = _db_now(db)
    insert_sales(db, [("product", BEER.product_id, 2, now - timedelta(minutes=5))])
    _build(db)

    db.execute("UPDATE order_items SET quantity = 7")
    later = _db_now(db)

    assert _base_counts(db, later)
    assert _usage(fetch_product_figures(db, later, LOOKBACK))[BEER.product_id] == 7


def test_truncate_stops_the_base_counting(db: psycopg.Connection[Any]) -> None:
    _catalogue(db)
    insert_sales(db, [("product", BEER.product_id, 2, _db_now(db) - timedelta(days=1))])
    _build(db)
    db.execute("TRUNCATE order_items")
    later = _db_now(db)
    assert not _base_counts(db, later)
    assert _usage(fetch_product_figures(db, later, LOOKBACK))[BEER.product_id] == 0


def test_the_build_waits_for_a_sale_still_in_flight_and_gives_up_in_time(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    _catalogue(db)
    with psycopg.connect(database_url) as till:  # a POS transaction left open
        # Dated just under the late limit: its trigger does not bump, and a second later it
        # is inside the span a build would sum, which cannot see it before it commits.
        till.execute(
            "INSERT INTO order_items (product_id, quantity, created_at)"
            " VALUES (%s, 3, clock_timestamp() - usage_base_late_after() + interval '1 second')",
            (BEER.product_id,),
        )
        time.sleep(1.5)
        started = time.monotonic()
        refused = usage_base.build(db, LOOKBACK, fence_wait_seconds=0.3)
        waited = time.monotonic() - started
        till.commit()

    assert refused.built is False
    assert refused.reason == "writers still in flight at the fence"
    assert 0.3 <= waited < 5
    _build(db)
    later = _db_now(db)
    assert _base_counts(db, later)
    assert _usage(fetch_product_figures(db, later, LOOKBACK))[BEER.product_id] == 3


def test_a_second_build_steps_aside_while_one_runs(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    _catalogue(db)
    with psycopg.connect(database_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (usage_base._BUILD_LOCK,))
        outcome = usage_base.build(db, LOOKBACK)
        other.execute("SELECT pg_advisory_unlock(%s)", (usage_base._BUILD_LOCK,))
    assert outcome == usage_base.BuildOutcome(False, "another build is running")
    assert db.execute("SELECT count(*) FROM usage_base").fetchone() == (0,)


def test_the_monitor_builds_the_base_once_and_then_reads_it(
    db: psycopg.Connection[Any], cooldown_table: str
) -> None:
    _catalogue(db)
    insert_sales(db, [("package", BUCKET.package_id, 2, _db_now(db) - timedelta(days=2))])

    first = run_monitor(_db_now(db))
    row = db.execute("SELECT built_at FROM usage_base").fetchone()
    second = run_monitor(_db_now(db))

    assert first.success
    assert second.success
    assert row is not None
    assert db.execute("SELECT built_at FROM usage_base").fetchone() == row  # not rebuilt
    assert _base_counts(db, _db_now(db))


def test_needs_build_when_missing_or_old() -> None:
    now = datetime(2026, 1, 1, 12)
    assert usage_base.needs_build(None, now)
    assert not usage_base.needs_build(now - usage_base.MAX_AGE + timedelta(seconds=1), now)
    assert usage_base.needs_build(now - usage_base.MAX_AGE, now)


def test_concurrent_builds_leave_one_base(db: psycopg.Connection[Any], database_url: str) -> None:
    _catalogue(db)
    insert_sales(db, [("product", LIME.product_id, 1, _db_now(db) - timedelta(days=1))])
    outcomes: list[usage_base.BuildOutcome] = []

    def build() -> None:
        with psycopg.connect(database_url, autocommit=True) as connection:
            outcomes.append(usage_base.build(connection, LOOKBACK))

    threads = [threading.Thread(target=build) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Every build answered with an outcome: a race between two of them is a build that steps
    # aside, never an exception in its thread.
    assert len(outcomes) == len(threads)
    assert any(o.built for o in outcomes)
    assert db.execute("SELECT count(*) FROM usage_base").fetchone() == (1,)
    later = _db_now(db)
    assert _base_counts(db, later)
    assert _usage(fetch_product_figures(db, later, LOOKBACK)) == _whole_window(db, later)


def _exact_base(db: psycopg.Connection[Any]) -> None:
    later = _db_now(db)
    assert db.execute("SELECT count(*) FROM usage_base").fetchone() == (1,)
    assert _base_counts(db, later)
    assert _usage(fetch_product_figures(db, later, LOOKBACK)) == _whole_window(db, later)


def test_a_build_whose_connection_breaks_before_its_commit_is_built_again(
    db: psycopg.Connection[Any],
    database_url: str,
    service_env: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _catalogue(db)
    insert_sales(db, [("product", LIME.product_id, 1, _db_now(db) - timedelta(days=1))])
    with answer_dropping_proxy(database_url) as proxy:
        service_env.setenv("DATABASE_URL", url_through(proxy.url, database_url))
        get_settings.cache_clear()
        reset_connection()
        # The connection goes with the answer to the base's row, before the COMMIT.
        proxy.drop_answers(b"INSERT INTO usage_base (lo")
        # Again while another test worker's write is in flight (one shared server).
        for _ in range(20):
            if keep_usage_base(None, _db_now(db), None):
                break

    assert proxy.dropped == 1
    assert "Database connection broke: running the work again" in caplog.text
    _exact_base(db)


def test_a_build_run_again_after_it_committed_leaves_one_exact_base(
    db: psycopg.Connection[Any],
) -> None:
    # What a retry does when the first build committed and only its answer was lost.
    _catalogue(db)
    insert_sales(db, [("package", MOJITO.package_id, 3, _db_now(db) - timedelta(days=3))])

    _build(db)
    _build(db)

    _exact_base(db)
