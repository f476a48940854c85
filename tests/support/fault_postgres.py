"""A PostgreSQL server of one test module's own, to freeze and restart.

The run's shared server serves every other test at once, so faults are never played on it:
this one is started for the tests that need it (devtools.local_postgres, fsync off, migrated)
and stopped after them. Freezing stops the postmaster first (so it forks no new backend) and
then every process it started, as an operator's `kill -STOP` or a hung host would; the
kernel still accepts connections and acknowledges bytes, so only the client's own bound ends
a wait. Linux only: the processes are found in /proc.

`url_through` points a connection string at a TCP proxy in front of any server instead.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from devtools.local_postgres import LocalPostgres
from devtools.migrate import apply_migrations

PROC = Path("/proc")


@dataclass
class FaultablePostgres:
    server: LocalPostgres

    @classmethod
    def started(cls, data_dir: Path) -> FaultablePostgres:
        server = LocalPostgres(data_dir, durable=False)
        server.start()
        apply_migrations(server.url)
        return cls(server)

    @property
    def url(self) -> str:
        return self.server.url

    def _postmaster(self) -> int:
        return int((self.server.data_dir / "postmaster.pid").read_text().split()[0])

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Every server process stopped (SIGSTOP) inside, resumed (SIGCONT) on the way out."""
        postmaster = self._postmaster()
        stopped = [postmaster]
        try:
            os.kill(postmaster, signal.SIGSTOP)
            for child in _children(postmaster):
                os.kill(child, signal.SIGSTOP)
                stopped.append(child)
            yield
        finally:
            for pid in stopped:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    def restart(self) -> None:
        """Stopped (fast: every session is terminated) and started again on the same port."""
        self.server.stop()
        self.server.start()

    def stop(self) -> None:
        self.server.stop()


def _children(parent: int) -> list[int]:
    children = []
    for stat in PROC.glob("[0-9]*/stat"):
        try:
            # The command name (2nd field) may hold spaces; the parent is 2 fields after it.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    return children


def url_through(proxy_url: str, database_url: str) -> str:
    """`database_url` reached through the TCP proxy at `proxy_url` (tests/support/fault_proxy)."""
    parts = urlsplit(database_url)
    port = urlsplit(proxy_url).port
    user = f"{parts.username}@" if parts.username else ""
    return parts._replace(netloc=f"{user}127.0.0.1:{port}").geturl()
