"""The floor: the bare SQL any implementation of the monitor pays, measured the way the
monitor reads (its work_mem, rows fetched with the cyclic GC paused)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from devtools.bench_measure import median, ms, timed

# The floor: every active package's max sellable in one GROUP BY, nothing else.
BARE_SQL = """
SELECT pi.package_id,
       greatest(0, floor(min(CASE WHEN p.is_active THEN p.current_stock ELSE 0 END
                             / pi.quantity))) AS max_sellable
FROM packages pk
JOIN package_items pi ON pi.package_id = pk.id
JOIN products p ON p.id = pi.product_id
WHERE pk.is_active
GROUP BY pi.package_id
"""


# What the stockout rule needs besides: every product's usage over the lookback window (direct
# sales plus package sales times the component quantity), nothing filtered. The monitor must
# pay both, so this pair run side by side on two connections is the floor of its SQL.
BARE_USAGE_SQL = """
WITH sold AS (
    SELECT package_id, product_id, sum(quantity) AS quantity
    FROM order_items
    WHERE created_at >= %(since)s AND created_at <= %(until)s
    GROUP BY package_id, product_id
)
SELECT product_id, sum(quantity)
FROM (
    SELECT product_id, quantity FROM sold WHERE product_id IS NOT NULL
    UNION ALL
    SELECT pi.product_id, s.quantity * pi.quantity
    FROM sold s JOIN package_items pi ON pi.package_id = s.package_id
) AS used
GROUP BY product_id
"""


def floor_connection(database_url: str) -> psycopg.Connection[Any]:
    """A connection for the bare SQL, with the work_mem the monitor's reads use: the floor is
    measured at the monitor's own setting, not at the server's smaller default."""
    from inventory.data.db import READ_WORK_MEM

    connection = psycopg.connect(database_url, autocommit=True)
    connection.execute(sql.SQL("SET work_mem = {}").format(sql.Literal(READ_WORK_MEM)))
    return connection


def floor_rows(connection: psycopg.Connection[Any], query: Any, params: Any = None) -> list[Any]:
    """The floor's rows, fetched as the monitor fetches its own: with the cyclic collector
    paused (monitor.cyclic_gc_paused); left running, it walks the fetched rows."""
    from inventory.services.monitor import cyclic_gc_paused

    with cyclic_gc_paused():
        return connection.execute(query, params).fetchall()


def measure_bare_sql(database_url: str, repeat: int) -> dict[str, Any]:
    """The GROUP BY alone, rows fetched as tuples: one warm-up, then the median."""
    with floor_connection(database_url) as connection:
        runs = []
        rows = 0
        for _ in range(repeat + 1):
            elapsed, fetched = timed(lambda: floor_rows(connection, BARE_SQL))
            runs.append(elapsed)
            rows = len(fetched)
    return {"median_ms": median(runs[1:]), "runs_ms": runs[1:], "rows": rows}


def measure_bare_sql_with_usage(
    database_url: str, repeat: int, now: datetime, lookback_days: int
) -> dict[str, Any]:
    """BARE_SQL and BARE_USAGE_SQL started together on two connections: the wall time of the
    pair (one warm-up, then the median)."""
    from concurrent.futures import ThreadPoolExecutor

    from inventory.services.monitor import cyclic_gc_paused

    window = {"since": now - timedelta(days=lookback_days), "until": now}
    with (
        floor_connection(database_url) as packages,
        floor_connection(database_url) as usage,
        ThreadPoolExecutor(max_workers=2) as pool,
    ):
        runs = []
        for _ in range(repeat + 1):
            with cyclic_gc_paused():  # as in floor_rows, for both threads at once
                started = time.perf_counter()
                pending = [
                    pool.submit(lambda: packages.execute(BARE_SQL).fetchall()),
                    pool.submit(lambda: usage.execute(BARE_USAGE_SQL, window).fetchall()),
                ]
                for future in pending:
                    future.result()
                runs.append(ms(time.perf_counter() - started))
    return {"median_ms": median(runs[1:]), "runs_ms": runs[1:]}
