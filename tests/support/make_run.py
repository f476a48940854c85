"""`make run`'s entry point (`python -m devtools.run`) as a real child process, in a state
folder of the test's own (INVENTORY_LOCAL_DIR), never the developer's `.local/`.

The child leads a process group of its own, as `make run` in a terminal does, so a test can
signal the whole group (Ctrl-C) or the process alone (what make forwards). Its stdout is read
line by line as it comes; its stderr (the access log) goes to a file beside the state.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from base64 import b64encode
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

from devtools.local_postgres import LocalPostgres
from devtools.local_services import CONNECTION_VARIABLES
from devtools.local_state import LOCAL_DIR_VARIABLE
from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 60
MANAGER = ("local-manager", "local-manager-secret")  # devtools.local_issuer.LOCAL_CLIENTS


def port_open(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=1):
            return True
    except OSError:
        return False


def postgres_processes(data_dir: Path) -> list[int]:
    """Pids of every process serving `data_dir` (the postmaster and its children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(data_dir).encode() in command and any(b"postgres" in part for part in command):
            found.append(int(entry.name))
    return found


class MakeRun:
    """One `make run` process over `state_dir`; `start()` returns once it serves."""

    def __init__(self, state_dir: Path, port: int | None = None) -> None:
        self.state_dir = state_dir
        self.port = port or free_port()
        self.receiver_port = free_port()  # kept across restarts: the demo webhook's target
        self.url = f"http://127.0.0.1:{self.port}"
        self.lines: list[str] = []  # this launch's stdout so far
        self.process: subprocess.Popen[str] | None = None
        self.runtime: dict[str, Any] = {}
        self._new_line = threading.Condition()
        self._ended = False  # this launch's child closed its stdout (it exited)
        self._reader: threading.Thread | None = None

    @property
    def pgdata(self) -> Path:
        return self.state_dir / "pgdata"

    @property
    def stderr_path(self) -> Path:
        return self.state_dir / "make-run.stderr"

    def environment(self) -> dict[str, str]:
        environment = {k: v for k, v in os.environ.items() if k not in CONNECTION_VARIABLES}
        environment.update(
            {
                LOCAL_DIR_VARIABLE: str(self.state_dir),
                "PORT": str(self.port),
                "WEBHOOK_RECEIVER_PORT": str(self.receiver_port),
                "MONITOR_INTERVAL_SECONDS": "3600",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return environment

    def launch(self) -> None:
        """Start the process; `wait_for` then follows its output."""
        if self._reader is not None:
            self._reader.join(timeout=STOP_TIMEOUT_SECONDS)  # the previous child's last lines
        self.lines = []
        self._ended = False
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with self.stderr_path.open("a") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "devtools.run"],
                cwd=ROOT,
                env=self.environment(),
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                start_new_session=True,
            )
        self._reader = threading.Thread(target=self._read, args=(self.process,), daemon=True)
        self._reader.start()

    def start(self) -> MakeRun:
        self.launch()
        self.wait_for("Up in ", timeout=START_TIMEOUT_SECONDS)
        self.runtime = json.loads((self.state_dir / "runtime.json").read_text())
        return self

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with self._new_line:
                self.lines.append(line.rstrip("\n"))
                self._new_line.notify_all()
        with self._new_line:
            self._ended = True
            self._new_line.notify_all()

    def wait_for(self, text: str, timeout: float = STOP_TIMEOUT_SECONDS) -> str:
        """The first output line containing `text`, waiting for it."""
        deadline = time.monotonic() + timeout
        with self._new_line:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._ended:
                    output = "\n".join(self.lines[-40:])
                    errors = self.stderr_path.read_text()[-3000:]
                    raise AssertionError(f"no {text!r} in make run's output:\n{output}\n{errors}")
                self._new_line.wait(timeout=remaining)

    def output(self) -> str:
        return "\n".join(self.lines)

    def signal_group(self, number: signal.Signals) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, number)

    def signal(self, number: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def wait_exit(self, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    # -- what it serves and stores ----------------------------------------------------------

    def notification_count(self, type: str | None = None) -> int:
        """Stored notifications (of one type)."""
        with psycopg.connect(self.runtime["database_url"]) as connection:
            row = connection.execute(
                "SELECT count(*) FROM notifications"
                " WHERE %(type)s::text IS NULL OR type = %(type)s",
                {"type": type},
            ).fetchone()
        assert row is not None
        return int(row[0])

    def sales_recorded(self) -> dict[str, Any]:
        """What the sales left in PostgreSQL: counts, and the products whose stock is not
        the sum of their ledger's deltas (none, whoever wrote)."""
        with psycopg.connect(self.runtime["database_url"]) as connection:
            row = connection.execute(
                "SELECT (SELECT count(*) FROM sales),"
                " (SELECT count(*) FROM order_items WHERE sale_id IS NOT NULL),"
                " (SELECT count(*) FROM stock_movements WHERE kind = 'sale'),"
                " (SELECT count(*) FROM write_requests WHERE operation = 'sale'),"
                " (SELECT count(*) FROM products p WHERE current_stock <> (SELECT"
                "   coalesce(sum(quantity_delta), 0) FROM stock_movements m"
                "   WHERE m.product_id = p.id))"
            ).fetchone()
            stock = connection.execute("SELECT name, current_stock FROM products").fetchall()
        assert row is not None
        names = ("sales", "sale_items", "sale_movements", "write_requests", "off_ledger")
        return {**dict(zip(names, row, strict=True)), "stock": dict(stock)}

    def idempotency_table(self) -> Any:
        """moto's idempotency table (the template's IdempotencyTable) of this run, via boto3."""
        import boto3

        return boto3.resource(
            "dynamodb",
            endpoint_url=self.runtime["dynamodb_endpoint"],
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        ).Table(self.runtime["resources"]["IdempotencyTable"])

    def function_log_count(self, text: str) -> int:
        """How many lines of the functions' log (every launch's) contain `text`."""
        log = self.state_dir / "functions.log"
        return sum(text in line for line in log.read_text().splitlines()) if log.exists() else 0

    def manager_token(self) -> str:
        credentials = b64encode(":".join(MANAGER).encode()).decode()
        request = urllib.request.Request(
            f"{self.url}/oauth2/token",
            data=b"grant_type=client_credentials",
            headers={
                "Authorization": f"Basic {credentials}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(json.loads(response.read())["access_token"])

    def get(self, path: str, token: str | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        request = urllib.request.Request(f"{self.url}{path}", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def cooldown_stats(self) -> dict[str, Any]:
        status, body = self.get("/api/inventory/notifications/check", self.manager_token())
        assert status == 200, body
        stats: dict[str, Any] = body["data"]
        return stats

    def sent_at_start(self) -> int:
        """notifications_sent of the start-up monitor run, from its summary line."""
        line = self.wait_for("monitor ok")
        match = re.search(r"(\d+) notifications sent", line)
        assert match is not None, line
        return int(match.group(1))

    # -- teardown ---------------------------------------------------------------------------

    def kill_everything(self) -> None:
        """After a failed test: the process and a server it may have left running."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        LocalPostgres(self.pgdata).stop()
