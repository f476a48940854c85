"""The catalogue's change counter (migration 0002): it moves in the same commit as any change
of stock, package composition or activity, whoever makes it."""

from __future__ import annotations

from typing import Any, LiteralString

import psycopg

# A statement of its own, or a scalar subquery of another (availability_sql.measure_list).
VERSION_QUERY: LiteralString = "SELECT version FROM catalog_version"


def read_catalog_version(connection: psycopg.Connection[Any]) -> int:
    """The committed version: one primary-key lookup on a one-row table."""
    with connection.cursor() as cursor:
        cursor.execute(VERSION_QUERY)
        row = cursor.fetchone()
    # Rows may come as dicts or tuples depending on the connection's row factory.
    return checked_version(
        None if row is None else row["version"] if isinstance(row, dict) else row[0]
    )


def checked_version(value: Any) -> int:
    """The version read, or LookupError when the table has no row."""
    if value is None:
        raise LookupError("catalog_version has no row; run the migrations.")
    return int(value)
