"""Counting the SQL statements the service's connections send (one round trip each)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg


class StatementCounter:
    """Counts the statements the service's connections send (one round trip each)."""

    def __init__(self) -> None:
        # One entry per statement: list.append is atomic, and the monitor's second read runs
        # in a worker thread.
        self._sent: list[None] = []

    @property
    def count(self) -> int:
        return len(self._sent)

    @contextmanager
    def counting(self, *connections: psycopg.Connection[Any]) -> Iterator[None]:
        sent = self._sent

        class CountingCursor(psycopg.Cursor[Any]):
            def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
                sent.append(None)
                return super().execute(query, params, **kwargs)

            def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
                sent.append(None)
                super().executemany(query, params_seq, **kwargs)

        previous = [connection.cursor_factory for connection in connections]
        for connection in connections:
            connection.cursor_factory = CountingCursor
        try:
            yield
        finally:
            for connection, factory in zip(connections, previous, strict=True):
                connection.cursor_factory = factory
