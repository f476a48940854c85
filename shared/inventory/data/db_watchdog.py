"""The bound on every database wait: past its deadline, a use's connections are cut.

`statement_timeout` is the server's own bound, and a server that is frozen, or a peer that
vanished without a reset, never enforces it; TCP keepalives notice a dead peer only after
their probes fail. So the client bounds its own wait: one watchdog thread per process watches
the uses in flight, and when one outlasts its deadline it shuts its sockets down. The blocked
driver call then fails at once with OperationalError, which data/db.py reports as a 503.

A use holds its own duplicate of each connection's socket, closed when the use ends. Severing
and ending take the same lock, so a use that has ended can never be severed: a late wake-up
of the watchdog never cuts a connection the next request is already using, and a closed
descriptor number reused by another socket is never touched.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg


class Use:
    """One use of the database: its deadline (a time.monotonic() instant) and the sockets of
    the connections it has taken."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.severed = False
        self._sockets: list[socket.socket] = []

    def seconds_left(self) -> float:
        return self.deadline - time.monotonic()

    def _sever(self) -> None:
        self.severed = True
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _close(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()


class _Watchdog:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._uses: set[Use] = set()
        self._thread: threading.Thread | None = None
        # When the watchdog thread wakes next (None: only when notified).
        self._wakes_at: float | None = None

    @contextmanager
    def watching(self, use: Use) -> Iterator[Use]:
        with self._changed:
            self._uses.add(use)
            if self._thread is None:
                # Started on first use, never at import; a daemon, so it never holds exit up.
                self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
                self._thread.start()
            # Uses come one after the other, each deadline later than the last: the thread is
            # woken only when it would otherwise sleep past this one.
            if self._wakes_at is None or use.deadline < self._wakes_at:
                self._changed.notify()
        try:
            yield use
        finally:
            with self._changed:
                self._uses.discard(use)
                use._close()

    def watch(self, use: Use, connection: psycopg.Connection[Any]) -> None:
        """Cut `connection` too when `use` outlasts its deadline (at once if it already has)."""
        with self._changed:
            use._sockets.append(socket.socket(fileno=os.dup(connection.pgconn.socket)))
            if use.severed or use.seconds_left() <= 0:
                use._sever()

    def _run(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                for use in [u for u in self._uses if not u.severed and u.deadline <= now]:
                    use._sever()
                pending = [u.deadline for u in self._uses if not u.severed]
                self._wakes_at = min(pending) if pending else None
                self._changed.wait(timeout=None if self._wakes_at is None else self._wakes_at - now)


_watchdog = _Watchdog()
watching = _watchdog.watching
watch = _watchdog.watch
