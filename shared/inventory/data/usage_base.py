"""The usage base (migration 0004): products' usage over one past span, built by the monitor.

The stockout rule needs every product's usage over the lookback window. Summing every order item
of the window on each run was the largest part of a warm run of a large catalogue
(docs/performance.md). With a base over [lo, hi), a run adds only what lies outside it: the
order items after `hi` (the last hour or so) and between the window's start and `lo`
(subtracted, as the window slides on), a few percent of the window.

A base counts only while nothing it summed has changed. Writes that could change it bump
`usage_base_state.changes` in their own commit (the migration's triggers): an order item
written dated more than usage_base_late_after() ago (1 hour), any change to package_items,
TRUNCATE. `hi` is the build's start less that hour, so a sale dated at its own write time can
never be inside the span.

The fence: a write still in flight when the build reads would be in neither the base (not
committed yet) nor the counter (not late when written). So the build first reads the clock and
then takes a transaction id, and waits (`FENCE_WAIT_SECONDS`, else it gives up and the runs
keep reading the window whole) for every transaction that got its id earlier to end. A
transaction that gets its id later writes after that moment: anything it dates inside the span
is late and bumps the counter. Nothing is locked; the POS never waits for a build.

Builds are skipped while another one runs (advisory lock), and a build that loses a race on
the base row gives up. A failed or skipped build changes nothing: runs stay exact, only slower.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, LiteralString

import psycopg
from psycopg.rows import tuple_row

from inventory.data.usage import USED_IN_SPAN

# A base older than this is rebuilt after the run that notices. Until then each run reads at
# most this much more of the window.
MAX_AGE = timedelta(hours=2)
FENCE_WAIT_SECONDS = 2.0
_FENCE_POLL_SECONDS = 0.02
# Any constant: only builds take this advisory lock.
_BUILD_LOCK = 0x7573616765  # "usage"

# After the fence's own transaction has ended, every snapshot lists every transaction still
# running that got its id before the fence's.
_STILL_RUNNING: LiteralString = """
SELECT count(*)
FROM pg_snapshot_xip(pg_current_snapshot()) AS running(xid)
WHERE running.xid < %(fence)s::xid8
"""

_REBUILD: LiteralString = "INSERT INTO usage_base_products (product_id, usage)" + USED_IN_SPAN

_RECORD: LiteralString = """
INSERT INTO usage_base (lo, hi, changes, built_at)
VALUES (%(lo)s, %(hi)s, %(changes)s, %(built_at)s)
ON CONFLICT (singleton) DO UPDATE
SET lo = excluded.lo, hi = excluded.hi, changes = excluded.changes,
    built_at = excluded.built_at
"""


@dataclass(frozen=True, slots=True)
class BuildOutcome:
    """What a build did: `built` is False when it stepped aside (and why)."""

    built: bool
    reason: str
    products: int = 0


def needs_build(built_at: datetime | None, now: datetime) -> bool:
    """No usable base (never built, or something it summed changed), or an old one."""
    return built_at is None or now - built_at >= MAX_AGE


def build(
    connection: psycopg.Connection[Any],
    lookback_days: int,
    *,
    fence_wait_seconds: float = FENCE_WAIT_SECONDS,
) -> BuildOutcome:
    """Rebuild the base over [database now - lookback, database now - late_after).

    `connection` must be in autocommit mode and idle; it is left so, whatever happens.
    """
    with connection.cursor(row_factory=tuple_row) as cursor:
        with connection.transaction():
            fence = cursor.execute("SELECT clock_timestamp(), usage_base_late_after()").fetchone()
            assert fence is not None  # a function call always returns its row
            fenced_at, late_after = fence
            # A transaction id taken after the clock was read: a writer with a later id
            # started writing after that moment.
            fence_xid = cursor.execute("SELECT pg_current_xact_id()::text").fetchone()
            assert fence_xid is not None
        if not _writers_done(cursor, fence_xid[0], fence_wait_seconds):
            return BuildOutcome(False, "writers still in flight at the fence")
        try:
            with connection.transaction():
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                locked = cursor.execute(
                    "SELECT pg_try_advisory_xact_lock(%s)", (_BUILD_LOCK,)
                ).fetchone()
                if not locked or not locked[0]:
                    return BuildOutcome(False, "another build is running")
                state = cursor.execute("SELECT changes FROM usage_base_state").fetchone()
                assert state is not None  # the migration inserts the row
                span = {
                    "lo": fenced_at - timedelta(days=lookback_days),
                    "hi": fenced_at - late_after,
                }
                cursor.execute("DELETE FROM usage_base_products")
                cursor.execute(_REBUILD, span)
                products = cursor.rowcount
                cursor.execute(_RECORD, {**span, "changes": state[0], "built_at": fenced_at})
        except (psycopg.errors.SerializationFailure, psycopg.errors.UniqueViolation):
            # Another build (or a late write) changed the rows this one read. A build that
            # committed between this one's snapshot and its lock left rows this DELETE cannot
            # see, so the INSERT meets them: the same race, told by another error.
            return BuildOutcome(False, "a concurrent write changed what the build read")
    return BuildOutcome(True, "built", products)


def _writers_done(cursor: psycopg.Cursor[Any], fence_xid: str, wait_seconds: float) -> bool:
    """Wait until every transaction that got its id before `fence_xid` has ended, up to
    `wait_seconds`."""
    give_up_at = time.monotonic() + wait_seconds
    while True:
        row = cursor.execute(_STILL_RUNNING, {"fence": fence_xid}).fetchone()
        if row is not None and row[0] == 0:
            return True
        if time.monotonic() >= give_up_at:
            return False
        time.sleep(_FENCE_POLL_SECONDS)
