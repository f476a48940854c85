"""PostgreSQL connections per container, and every use of them bounded, and retried when safe.

Lambda runs one request at a time per container, so a pool would only hold idle sockets. The
main connection serves every request; a second one, opened the first time it is asked for,
lets the monitor run its two reads at once, in one snapshot (`read_in_one_snapshot`).

The work is passed as a function, so that it can run again. A use waits at most
`DB_DEADLINE_SECONDS` (data/db_watchdog.py cuts its connections after that), and a use whose
connection broke under it (a restart, a failover, a proxy that recycled the connection) runs
once more on a fresh connection when that is safe (data/db_faults.py). A connection the server
closed while it sat idle is replaced before anything is sent on it.
"""

from __future__ import annotations

import contextlib
import math
import select
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from inventory.config import Settings, get_settings
from inventory.data import db_watchdog
from inventory.data.db_faults import Fault, Rerun, classify, may_retry, message
from inventory.errors import (
    ConfigurationError,
    DatabaseUnreachableError,
    DependencyUnavailableError,
)
from inventory.failures import describe_failure
from inventory.observability import logger
from inventory.secrets import database_url

Connection = psycopg.Connection[dict[str, object]]

MAIN = "main"
# Only ever inside a snapshot exported by the main connection.
SNAPSHOT_READER = "snapshot-reader"

# A dead peer (a vanished host, a primary gone in a failover) is noticed by the kernel: data
# unacknowledged this long closes the connection, and keepalives probe a quiet wait (a long
# statement). Either is a broken connection, which a read survives by its retry.
TCP_USER_TIMEOUT_MS = 5_000
KEEPALIVES_IDLE_SECONDS = 5
KEEPALIVES_INTERVAL_SECONDS = 2

_lock = threading.Lock()
_connections: dict[str, Connection] = {}
# No use outlasts this time.monotonic() instant, whatever its own deadline: the end of the
# invocation, set by the run that knows it (waits_end_by).
_ends_by: ContextVar[float | None] = ContextVar("database_waits_end_by", default=None)

_T = TypeVar("_T")
_First = TypeVar("_First")
_Second = TypeVar("_Second")


def _open(connect_timeout: int) -> Connection:
    settings = get_settings()
    return psycopg.connect(
        database_url(),
        autocommit=True,
        row_factory=dict_row,
        connect_timeout=connect_timeout,
        # None disables server-side prepared statements (needed behind RDS Proxy / PgBouncer).
        prepare_threshold=None if settings.db_disable_prepared_statements else 5,
        options=_session_options(settings),
        application_name="inventory-automation",
        keepalives=1,
        keepalives_idle=KEEPALIVES_IDLE_SECONDS,
        keepalives_interval=KEEPALIVES_INTERVAL_SECONDS,
        tcp_user_timeout=TCP_USER_TIMEOUT_MS,
    )


def _session_options(settings: Settings) -> str:
    # The deliveries trigger (migration 0009) reads these from the session of whichever
    # function writes notifications: the storm threshold, and whether there is a topic to owe
    # a delivery to (none: no topic rows, rather than rows failing for a day).
    topic = "on" if settings.notification_topic_arn else "off"
    return (
        f"-c statement_timeout={settings.db_statement_timeout_ms}"
        f" -c inventory.delivery_storm_threshold={settings.delivery_storm_threshold}"
        f" -c inventory.publish_to_topic={topic}"
    )


def _closed_by_the_server(connection: Connection) -> bool:
    """Between uses the server owes an idle connection nothing: anything to read is its goodbye
    (a FATAL "terminating connection" on a restart, then the close)."""
    poller = select.poll()
    poller.register(connection.pgconn.socket, select.POLLIN)
    return bool(poller.poll(0))


def _connection(name: str, connect_timeout: int) -> Connection:
    """The cached connection, or a new one; the driver's OperationalError when none opens."""
    with _lock:
        connection = _connections.get(name)
        if connection is not None and (
            connection.closed or connection.broken or _closed_by_the_server(connection)
        ):
            connection.close()
            connection = None
        if connection is None:
            try:
                connection = _connections[name] = _open(connect_timeout)
            except psycopg.ProgrammingError:
                # A malformed URL: psycopg quotes the offending part, which may be the
                # password, so neither its message nor its traceback may reach a log.
                raise ConfigurationError("The database connection string is invalid.") from None
        return connection


def get_connection(name: str = MAIN) -> Connection:
    """The container's connection of that name, (re)opened when missing, closed or broken.

    For tools and tests: nothing bounds what is done with it outside `run_on_connection`."""
    try:
        return _connection(name, get_settings().db_connect_timeout_seconds)
    except psycopg.OperationalError as error:
        raise unavailable(Fault.CONNECT) from error


def unavailable(fault: Fault) -> DependencyUnavailableError:
    """The 503 of a fault; a failed connect says so by its class (nothing was sent)."""
    if fault is Fault.CONNECT:
        return DatabaseUnreachableError(message(fault))
    return DependencyUnavailableError(message(fault))


def reset_connection() -> None:
    """Close and forget every cached connection (tests point the service at another database)."""
    with _lock:
        connections = list(_connections.values())
        _connections.clear()
    for connection in connections:
        connection.close()


def _forget_broken() -> None:
    with _lock:
        broken = [n for n, c in _connections.items() if c.closed or c.broken]
        for name in broken:
            _connections.pop(name).close()


@contextmanager
def waits_end_by(instant: float | None) -> Iterator[None]:
    """Inside, no use outlasts `instant` (time.monotonic(); None: no such bound), whatever its
    own deadline: for a run that must answer before its invocation ends."""
    outer = _ends_by.get()
    bounds = [b for b in (outer, instant) if b is not None]
    token = _ends_by.set(min(bounds) if bounds else None)
    try:
        yield
    finally:
        _ends_by.reset(token)


class _Attempt:
    """One attempt of a use: the connections it took, each watched until its deadline."""

    def __init__(self, use: db_watchdog.Use) -> None:
        self.use = use
        self.connecting = False
        self.connections: list[Connection] = []

    def connection(self, name: str) -> Connection:
        left = self.use.seconds_left()
        if left <= 0:
            raise DependencyUnavailableError(message(Fault.DEADLINE))
        # The connect has its own bound (it has no socket to cut yet): at most what is left.
        connect_timeout = min(get_settings().db_connect_timeout_seconds, max(1, math.ceil(left)))
        self.connecting = True
        connection = _connection(name, connect_timeout)
        self.connecting = False
        db_watchdog.watch(self.use, connection)
        self.connections.append(connection)
        return connection

    def fault(self, error: psycopg.OperationalError) -> Fault:
        return classify(
            connecting=self.connecting,
            severed=self.use.severed,
            sqlstate=error.sqlstate,
            broken=any(c.broken for c in self.connections),
        )


def _use_deadline() -> float:
    deadline = time.monotonic() + get_settings().db_deadline_seconds
    ends_by = _ends_by.get()
    return deadline if ends_by is None else min(deadline, ends_by)


def _run(body: Callable[[_Attempt], _T], rerun: Rerun) -> _T:
    """`body` within one deadline, again on fresh connections when its connection broke and
    `rerun` allows; every driver failure that ends it is a DependencyUnavailableError."""
    deadline = _use_deadline()
    attempts = 0
    while True:
        attempts += 1
        attempt = _Attempt(db_watchdog.Use(deadline))
        try:
            with db_watchdog.watching(attempt.use):
                return body(attempt)
        except psycopg.OperationalError as error:
            fault = attempt.fault(error)
            _forget_broken()
            left = attempt.use.seconds_left()
            if not may_retry(fault, rerun, attempts=attempts, seconds_left=left):
                raise unavailable(fault) from error
            logger.warning(
                "Database connection broke: running the work again on a fresh connection",
                extra={"reason": describe_failure(error), "fault": fault.value},
            )


def run_on_connection(work: Callable[[Connection], _T], *, rerun: Rerun = Rerun.SAFE) -> _T:
    """`work` on the main connection, bounded by the use's deadline; DependencyUnavailableError
    (a 503) when the database does not answer.

    Work whose connection broke under it runs once more on a fresh connection when `rerun` is
    SAFE (the default, for reads and for writes that leave the same state when run twice);
    driver errors other than OperationalError (a constraint, a bug in the SQL) pass through.
    """
    return _run(lambda attempt: work(attempt.connection(MAIN)), rerun)


def ping() -> None:
    """One round trip (the health check); DependencyUnavailableError when it fails."""
    run_on_connection(lambda connection: connection.execute("SELECT 1").fetchone())


# The monitor's whole-catalogue reads hash every package: with the server's default 4 MB of
# work_mem that aggregate spills to disk on a large catalogue. SET LOCAL ends with the
# transaction and rides in the BEGIN's round trip; make bench measures its floor at the same.
READ_WORK_MEM = "32MB"
_BEGIN = f"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL work_mem = '{READ_WORK_MEM}'"


def _export_snapshot(connection: Connection) -> str:
    connection.execute(_BEGIN, prepare=False)
    row = connection.execute("SELECT pg_export_snapshot() AS id").fetchone()
    assert row is not None  # a function call always returns its row
    return str(row["id"])


def _import_snapshot(connection: Connection, snapshot_id: str) -> None:
    connection.execute(_BEGIN, prepare=False)
    # SET takes no bind parameters; the id comes from the server and is quoted as a literal.
    statement = sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot_id))
    connection.execute(statement, prepare=False)


def _end(connection: Connection) -> None:
    """Back to autocommit idle, or closed (and so reopened on next use); never raises.

    COMMIT, not ROLLBACK: both transactions only read, and a ROLLBACK (or rollback()) makes
    psycopg drop the connection's prepared statements. In a failed transaction COMMIT rolls
    back.
    """
    status = connection.info.transaction_status
    if status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
        with contextlib.suppress(psycopg.Error):
            connection.execute("COMMIT", prepare=False)
    if connection.info.transaction_status is not TransactionStatus.IDLE:
        connection.close()


# Longest a cancel request may wait for the server to take it.
_CANCEL_TIMEOUT_SECONDS = 5.0


def _cancel_until_done(connection: Connection, pending: Future[Any], use: db_watchdog.Use) -> None:
    """The read fails anyway: stop the other one instead of waiting for it.

    A cancel that reaches the server between two statements is ignored, so it is repeated
    until the worker has finished. A severed use sends none: its reader was cut too, and a
    cancel to a server that stopped answering would only wait.
    """
    while not pending.done():
        if not use.severed:
            timeout = min(_CANCEL_TIMEOUT_SECONDS, max(0.1, use.seconds_left()))
            with contextlib.suppress(psycopg.Error):
                connection.cancel_safe(timeout=timeout)
        wait([pending], timeout=0.05)


def read_in_one_snapshot(
    first: Callable[[Connection], _First],
    second: Callable[[Connection], _Second],
    *,
    after_export: Callable[[], object] | None = None,
) -> tuple[_First, _Second]:
    """`first` on the main connection while `second` runs on the reader connection in a
    worker thread, both reading one REPEATABLE READ snapshot (exported by the main one).

    Either failure fails the whole read (the other side is cancelled or awaited); the worker
    has finished and both connections are out of their transaction when this returns or
    raises. One use: a broken connection retries the whole read, both sides, in a new
    snapshot. `after_export` is a test seam: it runs once the snapshot exists, before the
    reader imports it.
    """

    def read(attempt: _Attempt) -> tuple[_First, _Second]:
        main = attempt.connection(MAIN)
        reader = attempt.connection(SNAPSHOT_READER)
        try:
            snapshot_id = _export_snapshot(main)
            if after_export is not None:
                after_export()

            def read_second() -> _Second:
                _import_snapshot(reader, snapshot_id)
                return second(reader)

            # The main transaction, and so the exported snapshot, lives until the worker is
            # done: leaving this block waits for it.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot-reader") as pool:
                pending = pool.submit(read_second)
                try:
                    first_result = first(main)
                except BaseException:
                    _cancel_until_done(reader, pending, attempt.use)
                    raise
            return first_result, pending.result()
        finally:
            _end(main)
            _end(reader)

    return _run(read, Rerun.SAFE)
