"""The catalogue's change counter (migration 0002): it moves in the same commit as any change
of stock, package composition or activity, whoever makes it."""

from __future__ import annotations

from typing import Any

import psycopg


def read_catalog_version(connection: psycopg.Connection[Any]) -> int:
    """The committed version: one primary-key lookup on a one-row table."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM catalog_version")
        row = cursor.fetchone()
    if row is None:
        raise LookupError("catalog_version has no row; run the migrations.")
    # Rows may come as dicts or tuples depending on the connection's row factory.
    return int(row["version"] if isinstance(row, dict) else row[0])
