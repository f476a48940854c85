"""Counting the SQL statements a piece of code sends (round trips to PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def counting_statements(*connections: psycopg.Connection[Any]) -> Iterator[StatementCounter]:
    """Every cursor the connections make while inside the block records what it executes
    (list.append is atomic, so connections used from other threads count too)."""
    counter = StatementCounter()

    class CountingCursor(psycopg.Cursor[Any]):
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            counter.statements.append(str(query)[:80])
            return super().execute(query, params, **kwargs)

        def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
            counter.statements.append(str(query)[:80])
            super().executemany(query, params_seq, **kwargs)

    previous = [connection.cursor_factory for connection in connections]
    for connection in connections:
        connection.cursor_factory = CountingCursor
    try:
        yield counter
    finally:
        for connection, factory in zip(connections, previous, strict=True):
            connection.cursor_factory = factory
