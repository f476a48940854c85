"""One PostgreSQL connection per container, opened on first use and reopened when broken.

Lambda runs one request at a time per container, so a pool would only hold idle sockets.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import dict_row

from inventory.config import get_settings
from inventory.errors import ConfigurationError, DependencyUnavailableError
from inventory.secrets import database_url

_lock = threading.Lock()
_connection: psycopg.Connection[dict[str, object]] | None = None


def _open() -> psycopg.Connection[dict[str, object]]:
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


def get_connection() -> psycopg.Connection[dict[str, object]]:
    """The container's connection, (re)opened when it is missing, closed or broken."""
    global _connection
    with _lock:
        if _connection is None or _connection.closed or _connection.broken:
            try:
                _connection = _open()
            except psycopg.OperationalError as error:
                raise DependencyUnavailableError("The database is unreachable.") from error
            except psycopg.ProgrammingError:
                # A malformed URL: psycopg quotes the offending part, which may be the
                # password, so neither its message nor its traceback may reach a log.
                raise ConfigurationError("The database connection string is invalid.") from None
        return _connection


def reset_connection() -> None:
    """Forget the cached connection (tests point the service at another database)."""
    global _connection
    with _lock:
        if _connection is not None and not _connection.closed:
            _connection.close()
        _connection = None


@contextmanager
def database() -> Iterator[psycopg.Connection[dict[str, object]]]:
    """The connection, with driver failures turned into DependencyUnavailableError.

    A connection that breaks mid-request is dropped so the next request reconnects.
    """
    connection = get_connection()
    try:
        yield connection
    except psycopg.OperationalError as error:
        if connection.broken or connection.closed:
            reset_connection()
        raise DependencyUnavailableError("The database did not answer.") from error
