"""Shared fixtures: real PostgreSQL (embedded), moto's DynamoDB server, events and contexts."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, settings

from tests.support import dynamo, services
from tests.support.events import FakeLambdaContext

# Lambda-like environment for every test process; nothing here reaches AWS.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "inventory-automation")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "InventoryAutomationTest")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_configure(config: pytest.Config) -> None:
    # Runs in the xdist controller (or the only process) before workers start: one server
    # and one migrated template for the whole run. Workers inherit the URL by environment.
    if hasattr(config, "workerinput") or os.environ.get(services.SERVER_URL_VARIABLE):
        return
    url, server = services.start_server()
    services.create_template(url)
    os.environ[services.SERVER_URL_VARIABLE] = url
    config.stash[_server_key] = server


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_server_key, None)
    if server is not None:
        server.stop()
        # The throwaway cluster (tens of MB per run) goes with the run.
        shutil.rmtree(server.data_dir.parent, ignore_errors=True)


_server_key = pytest.StashKey[Any]()


@pytest.fixture(scope="session")
def database_url(worker_id: str) -> str:
    """This worker's own database, cloned from the migrated template."""
    return services.create_worker_database(os.environ[services.SERVER_URL_VARIABLE], worker_id)


@pytest.fixture
def service_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Lets a test change the service's environment; settings and connection are re-read."""
    from inventory.config import get_settings
    from inventory.data.db import reset_connection

    get_settings.cache_clear()
    reset_connection()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()
    reset_connection()


@pytest.fixture
def db(database_url: str, service_env: pytest.MonkeyPatch) -> Iterator[psycopg.Connection[Any]]:
    """An empty, migrated database that the handlers under test are pointed at."""
    services.truncate_all(database_url)
    service_env.setenv("DATABASE_URL", database_url)
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's DynamoDB server over real HTTP on 127.0.0.1, one per worker."""
    from moto.server import ThreadedMotoServer

    # Conditional writes must be atomic, as in DynamoDB (moto's are not; see the helper).
    dynamo.make_moto_dynamodb_writes_atomic()
    port = services.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def cooldown_table(moto_endpoint: str, service_env: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh cooldown table (shaped by template.yaml) the service is pointed at."""
    import uuid

    from inventory.data.cooldowns import get_cooldown_store

    client = dynamo.dynamodb_client(moto_endpoint)
    name = f"cooldowns-{uuid.uuid4().hex[:12]}"
    dynamo.create_cooldown_table(client, name)
    service_env.setenv("COOLDOWN_TABLE_NAME", name)
    service_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_endpoint)
    get_cooldown_store.cache_clear()
    yield name
    get_cooldown_store.cache_clear()
    client.delete_table(TableName=name)


@pytest.fixture
def local_api(
    db: psycopg.Connection[Any], database_url: str, moto_endpoint: str, cooldown_table: str
) -> Iterator[Any]:
    """`make run`'s HTTP server in-process on a free port, serving the demo bar."""
    from devtools.demo_data import load_demo
    from tests.support.local_api import CRON_TOKEN, running_local_api

    load_demo(db)
    connections = {
        "DATABASE_URL": database_url,
        "AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint,
        "COOLDOWN_TABLE_NAME": cooldown_table,
        "CRON_SECRET": CRON_TOKEN,
    }
    with running_local_api(connections) as server:
        yield server
