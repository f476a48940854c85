"""The real services the integration tests run against, started on first use.

PostgreSQL: one embedded server per test run, started by the first process (xdist worker or
the single process) whose test asks for a database, under a lock in the run's directory that
the controller creates and removes; the others wait on the lock and read the URL it left there.
The first one also migrates a template database; each worker clones it into a database of its
own, so workers never see each other's rows. DATABASE_URL set by the user names the server to
use instead of starting one; INVENTORY_POSTGRES_BIN, another installation's binaries to start
it from (devtools.local_postgres). The controller stops the server (if any) at the end of the run.

DynamoDB: moto's server over HTTP on 127.0.0.1, one per worker, started on first use.
"""

from __future__ import annotations

import fcntl
import shutil
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from devtools.local_postgres import LocalPostgres
from devtools.migrate import apply_migrations

# The run's directory (lock, server URL, data folder); the xdist workers inherit it.
RUN_DIR_VARIABLE = "INVENTORY_TEST_RUN_DIR"
_LOCK_FILE = "postgres.lock"
_URL_FILE = "postgres.url"
_DATA_DIR = "postgres/data"
TEMPLATE_DATABASE = "inventory_test_template"
# usage_base_state is left alone: its one row is the migration's (the truncations bump it).
TABLES = (
    "notification_deliveries",
    "notification_episodes",
    "notification_subscriptions",
    "notifications",
    "order_items",
    "package_items",
    "packages",
    "products",
    "sales",
    "stock_events",
    "stock_movements",
    "usage_base",
    "usage_base_products",
    "write_requests",
)


def with_database(url: str, database: str) -> str:
    """The same server URL naming another database (URL form, which yoyo also needs)."""
    return urlsplit(url)._replace(path=f"/{database}").geturl()


def create_run_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="inventory-test-run-"))


def shared_server_url(run_dir: Path, user_url: str | None) -> str:
    """The run's server URL: the first caller starts the server (or takes the user's URL) and
    migrates the template while holding the lock; later callers, in any process, read it."""
    with open(run_dir / _LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        url_file = run_dir / _URL_FILE
        if url_file.exists():
            return url_file.read_text()
        # A server left running by a caller that failed after starting it is reused here.
        url = user_url or LocalPostgres(run_dir / _DATA_DIR, durable=False).start()
        create_template(url)
        url_file.write_text(url)
        return url


def remove_run_dir(run_dir: Path) -> None:
    """Stop the run's server if one was started, and remove it with its data (tens of MB)."""
    data_dir = run_dir / _DATA_DIR
    try:
        if data_dir.exists():
            LocalPostgres(data_dir).stop()
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def create_template(server_url: str) -> None:
    """A migrated database every worker copies (CREATE DATABASE ... TEMPLATE is a file copy)."""
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(TEMPLATE_DATABASE)
            )
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE_DATABASE)))
    apply_migrations(with_database(server_url, TEMPLATE_DATABASE))
    # yoyo's backend sits in a reference cycle and keeps its connection to the template until
    # a garbage collection; a clone (CREATE DATABASE ... TEMPLATE) would find it still there.
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (TEMPLATE_DATABASE,),
        )


def create_worker_database(server_url: str, worker: str) -> str:
    name = f"inventory_test_{worker}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(TEMPLATE_DATABASE)
            )
        )
    return with_database(server_url, name)


def truncate_all(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                sql.SQL(", ").join(sql.Identifier(t) for t in TABLES)
            )
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
