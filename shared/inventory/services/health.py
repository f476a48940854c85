"""The health check: does PostgreSQL answer, does the cooldown table answer.

Both checks run at once, so a dead dependency costs its own timeout, not the sum of both.
A fault becomes a reported status, never an exception; reasons are our own messages or an
error class name, so no connection string, SQL or stack trace reaches the caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psycopg

from inventory.data.cooldowns import CooldownStore
from inventory.errors import InventoryError
from inventory.models.health import DependencyHealth, HealthReport
from inventory.observability import logger

# One round trip to PostgreSQL, raising when it fails (data/db.ping).
Ping = Callable[[], object]


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _check_postgres(ping: Ping) -> DependencyHealth:
    started = time.perf_counter()
    try:
        ping()
    except InventoryError as error:
        reason = str(error)
    except psycopg.Error as error:
        # The driver's text may quote SQL or the server address: name the class only.
        reason = f"The database check failed ({type(error).__name__})."
    else:
        return DependencyHealth(status="ok", latency_ms=_elapsed_ms(started))
    logger.warning("Health check failed", extra={"dependency": "postgres", "reason": reason})
    return DependencyHealth(status="error", latency_ms=_elapsed_ms(started), reason=reason)


def _check_cooldown_table(store: CooldownStore) -> DependencyHealth:
    started = time.perf_counter()
    try:
        store.ping()
    except InventoryError as error:
        reason = str(error)
        logger.warning(
            "Health check failed", extra={"dependency": "cooldown_table", "reason": reason}
        )
        return DependencyHealth(status="error", latency_ms=_elapsed_ms(started), reason=reason)
    return DependencyHealth(status="ok", latency_ms=_elapsed_ms(started))


def check_health(ping_postgres: Ping, store: CooldownStore) -> HealthReport:
    """Each dependency's status and latency; `healthy` only when both answered."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="health") as pool:
        postgres = pool.submit(_check_postgres, ping_postgres)
        cooldown_table = pool.submit(_check_cooldown_table, store)
        report = HealthReport(
            healthy=False,
            postgres=postgres.result(),
            cooldown_table=cooldown_table.result(),
        )
    healthy = report.postgres.status == "ok" and report.cooldown_table.status == "ok"
    return report.model_copy(update={"healthy": healthy})
