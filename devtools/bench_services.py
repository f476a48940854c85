"""The bench's services: a throwaway PostgreSQL and moto's DynamoDB server, and the service
state (settings, connections, cooldown store) reset between sizes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.template import FunctionSpec, Template


@dataclass
class BenchServices:
    database_url: str
    dynamodb_endpoint: str
    cooldown_table: str
    environment: dict[str, str]


def note(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """Send fd 1 to /dev/null: the service's JSON logs still get written (their cost is part
    of a run) but do not bury the table."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def bench_services(template: Template) -> Iterator[BenchServices]:
    """A throwaway PostgreSQL (fsync off) and a moto server process, stopped at the end."""
    from devtools.local_postgres import LocalPostgres
    from devtools.local_services import LocalServices
    from devtools.migrate import apply_migrations

    workdir = Path(tempfile.mkdtemp(prefix="inventory-bench-"))
    postgres = LocalPostgres(workdir / "pgdata", durable=False)
    port = _free_port()
    # Its own process, as DynamoDB is its own service: moto's request handling must not
    # share this process's interpreter lock with the code being measured.
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = postgres.start()
        endpoint = f"http://127.0.0.1:{port}"
        _wait_for_port(port)
        apply_migrations(url)
        local = LocalServices(
            database_url=url,
            dynamodb_endpoint=endpoint,
            cron_secret="bench-cron-secret",  # noqa: S106 (a local, throwaway value)
            resources={t.logical_id: t.local_name for t in template.tables.values()},
        )
        monitor = monitor_spec(template)
        from devtools.invoke import function_environment

        environment = function_environment(template, monitor, local)
        # The caller's connection variables would point the bench at their services instead;
        # the bench always measures its own throwaway ones.
        environment.update(
            DATABASE_URL=url,
            AWS_ENDPOINT_URL_DYNAMODB=endpoint,
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 (moto accepts anything)
        )
        # As deployed, not as `make run` (which ends episodes at once for its demo).
        environment.update(
            {
                name: value
                for name, value in template.local_environment(monitor, local.resources).items()
                if name == "NOTIFICATION_REARM_MINUTES"
            }
        )
        yield BenchServices(url, endpoint, environment["COOLDOWN_TABLE_NAME"], environment)
    finally:
        moto.terminate()
        moto.wait(timeout=30)
        postgres.stop()
        _remove_tree(workdir)


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"moto's server did not start on port {port}")


def monitor_spec(template: Template) -> FunctionSpec:
    scheduled = template.scheduled_functions
    if scheduled:
        return scheduled[0]
    # Before the monitor is in the template, any function carries the shared environment.
    return next(iter(template.functions.values()))


def recreate_cooldown_table(template: Template, services: BenchServices) -> None:
    """An empty table shaped by template.yaml, so the next monitor run starts cold."""
    from devtools.local_services import create_tables

    client = dynamodb_client(services)
    for table in template.tables.values():
        with suppress(client.exceptions.ResourceNotFoundException):
            client.delete_table(TableName=table.local_name)
    create_tables(template, services.dynamodb_endpoint)


def dynamodb_client(services: BenchServices) -> Any:
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=services.dynamodb_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 (moto accepts anything)
    )


def reset_service_state() -> None:
    """Forget cached settings, the connection and the cooldown store (a new size begins)."""
    from inventory.config import get_settings
    from inventory.data.db import reset_connection

    get_settings.cache_clear()
    reset_connection()
    try:
        from inventory.data.cooldowns import get_cooldown_store

        get_cooldown_store.cache_clear()
    except ImportError:
        pass


def forget_other_functions_state() -> None:
    """Drop what the availability function cached in this process (100k models at 100k
    packages): in AWS the monitor runs in a container of its own, and the garbage collector
    here would otherwise walk that cache on every collection the monitor triggers."""
    import gc

    from inventory.services.availability_cache import availability_cache

    availability_cache().clear()
    gc.collect()


def fresh_catalogue(
    services: BenchServices, packages: int, now: Any
) -> tuple[float, dict[str, int]]:
    """A new synthetic catalogue of `packages` (devtools/bench_data.py), the service's cached
    state forgotten; returns the generation's milliseconds and the row counts."""
    import psycopg

    from devtools.bench_data import CatalogueSize, generate_catalogue
    from devtools.bench_measure import timed

    note(f"{packages:,} packages: generating the catalogue")
    with psycopg.connect(services.database_url, autocommit=True) as connection:
        generation_ms, rows = timed(
            lambda: generate_catalogue(connection, CatalogueSize(packages), now)
        )
    reset_service_state()
    return generation_ms, rows
