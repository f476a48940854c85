"""Shared fixtures: real PostgreSQL (embedded, started on first use), moto's DynamoDB server,
events and contexts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
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
    # The user's DATABASE_URL, read before any test can change the environment.
    config.stash[_user_database_url] = os.environ.get("DATABASE_URL") or None
    if hasattr(config, "workerinput"):
        return
    # The xdist controller (or the only process), before workers start: the run's directory,
    # which the workers inherit by environment. No server is started here (see database_url).
    run_dir = services.create_run_dir()
    os.environ[services.RUN_DIR_VARIABLE] = str(run_dir)
    config.stash[_run_dir_key] = run_dir


def pytest_unconfigure(config: pytest.Config) -> None:
    # After every worker has finished, passed or failed: the server, if one was started, goes.
    run_dir = config.stash.get(_run_dir_key, None)
    if run_dir is not None:
        os.environ.pop(services.RUN_DIR_VARIABLE, None)
        services.remove_run_dir(run_dir)


_run_dir_key = pytest.StashKey[Path]()
_user_database_url = pytest.StashKey[str | None]()


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, worker_id: str) -> str:
    """This worker's own database, cloned from the migrated template. The run's server starts
    with the first test that asks for a database, in whichever worker that is."""
    server_url = services.shared_server_url(
        Path(os.environ[services.RUN_DIR_VARIABLE]), request.config.stash[_user_database_url]
    )
    return services.create_worker_database(server_url, worker_id)


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
def idempotency_table(moto_endpoint: str, service_env: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh idempotency table (the template's IdempotencyTable) the write routes use."""
    import uuid

    from inventory.data.idempotency_records import persistence_layer

    client = dynamo.dynamodb_client(moto_endpoint)
    name = f"idempotency-{uuid.uuid4().hex[:12]}"
    dynamo.create_cooldown_table(client, name, "IdempotencyTable")
    service_env.setenv("IDEMPOTENCY_TABLE_NAME", name)
    service_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_endpoint)
    persistence_layer.cache_clear()
    yield name
    persistence_layer.cache_clear()
    client.delete_table(TableName=name)


@pytest.fixture
def demo_bar(db: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    """The demo bar (devtools/demo_data.py) in the test's database."""
    from devtools.demo_data import load_demo

    load_demo(db)
    return db


@pytest.fixture
def local_api(
    db: psycopg.Connection[Any],
    database_url: str,
    moto_endpoint: str,
    cooldown_table: str,
    idempotency_table: str,
) -> Iterator[Any]:
    """`make run`'s HTTP server in-process on a free port, serving the demo bar."""
    from devtools.demo_data import load_demo
    from tests.support.local_api import CRON_TOKEN, running_local_api

    load_demo(db)
    connections = {
        "DATABASE_URL": database_url,
        "AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint,
        "COOLDOWN_TABLE_NAME": cooldown_table,
        "IDEMPOTENCY_TABLE_NAME": idempotency_table,
        "CRON_SECRET": CRON_TOKEN,
        # Webhook secrets sealed under a test key; the targets are not resolved (no DNS).
        "SUBSCRIPTION_SECRET_KEY": "local-api-test-subscription-secret-key-0123456789",
        "ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
    }
    with running_local_api(connections) as server:
        yield server


@pytest.fixture
def invocations(local_api: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The logical ids of the functions the local API invokes during the test."""
    called: list[str] = []
    invoke = local_api.invoke

    def counting(spec: Any, event: dict[str, Any]) -> Any:
        called.append(spec.logical_id)
        return invoke(spec, event)

    monkeypatch.setattr(local_api, "invoke", counting)
    return called
