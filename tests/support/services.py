"""The real services the integration tests run against, started once per test run.

PostgreSQL: an embedded server started by the xdist controller (or the single process), with
a migrated template database; each worker clones it into a database of its own, so workers
never see each other's rows. Setting DATABASE_URL uses that server instead of starting one.

DynamoDB: moto's server over HTTP on 127.0.0.1, one per worker, started on first use.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from devtools.local_postgres import LocalPostgres
from devtools.migrate import apply_migrations

SERVER_URL_VARIABLE = "INVENTORY_TEST_SERVER_URL"
TEMPLATE_DATABASE = "inventory_test_template"
# usage_base_state is left alone: its one row is the migration's (the truncations bump it).
TABLES = (
    "notifications",
    "order_items",
    "package_items",
    "packages",
    "products",
    "usage_base",
    "usage_base_products",
)


def with_database(url: str, database: str) -> str:
    """The same server URL naming another database (URL form, which yoyo also needs)."""
    return urlsplit(url)._replace(path=f"/{database}").geturl()


def start_server() -> tuple[str, LocalPostgres | None]:
    """The server URL: the user's DATABASE_URL, or a fresh embedded server."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"], None
    server = LocalPostgres(Path(tempfile.mkdtemp(prefix="inventory-pg-")) / "data", durable=False)
    return server.start(), server


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
