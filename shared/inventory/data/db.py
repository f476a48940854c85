"""PostgreSQL connections per container, opened on first use and reopened when broken.

Lambda runs one request at a time per container, so a pool would only hold idle sockets. The
main connection serves every request; a second one, opened the first time it is asked for,
lets the monitor run its two reads at once, in one snapshot (`read_in_one_snapshot`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from inventory.config import get_settings
from inventory.errors import (
    ConfigurationError,
    DatabaseUnreachableError,
    DependencyUnavailableError,
)
from inventory.secrets import database_url

Connection = psycopg.Connection[dict[str, object]]

MAIN = "main"
# Only ever inside a snapshot exported by the main connection.
SNAPSHOT_READER = "snapshot-reader"

_lock = threading.Lock()
_connections: dict[str, Connection] = {}

_First = TypeVar("_First")
_Second = TypeVar("_Second")


def _open() -> Connection:
    settings = get_settings()
    return psycopg.connect(
        database_url(),
        autocommit=True,
        row_factory=dict_row,
        connect_timeout=settings.db_connect_timeout_seconds,
        # None disables server-side prepared statements (needed behind RDS Proxy / PgBouncer).
        prepare_threshold=None if settings.db_disable_prepared_statements else 5,
        options=f"-c statement_timeout={settings.db_statement_timeout_ms}",
        application_name="inventory-automation",
    )


def get_connection(name: str = MAIN) -> Connection:
    """The container's connection of that name, (re)opened when missing, closed or broken."""
    with _lock:
        connection = _connections.get(name)
        if connection is None or connection.closed or connection.broken:
            try:
                connection = _connections[name] = _open()
            except psycopg.OperationalError as error:
                raise DatabaseUnreachableError("The database is unreachable.") from error
            except psycopg.ProgrammingError:
                # A malformed URL: psycopg quotes the offending part, which may be the
                # password, so neither its message nor its traceback may reach a log.
                raise ConfigurationError("The database connection string is invalid.") from None
        return connection


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
def database(name: str = MAIN) -> Iterator[Connection]:
    """A connection, with driver failures turned into DependencyUnavailableError.

    A connection that breaks mid-request is dropped so the next request reconnects.
    """
    connection = get_connection(name)
    try:
        yield connection
    except psycopg.OperationalError as error:
        _forget_broken()
        raise DependencyUnavailableError("The database did not answer.") from error


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


def _cancel_until_done(connection: Connection, pending: Future[Any]) -> None:
    """The read fails anyway: stop the other one instead of waiting for it.

    A cancel that reaches the server between two statements is ignored, so it is repeated
    until the worker has finished.
    """
    while not pending.done():
        with contextlib.suppress(psycopg.Error):
            connection.cancel_safe(timeout=5)
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
    raises. `after_export` is a test seam: it runs once the snapshot exists, before the reader
    imports it.
    """
    with database() as main, database(SNAPSHOT_READER) as reader:
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
                    _cancel_until_done(reader, pending)
                    raise
            return first_result, pending.result()
        finally:
            _end(main)
            _end(reader)
