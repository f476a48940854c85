"""A database that stops answering, and one that restarts, under the real handlers.

The server is this module's own (tests/support/fault_postgres.py): freezing or restarting the
run's shared one would fail every other test running at the time. The API is fed its
committed HTTP API v2 event, the monitor its EventBridge scheduled event.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from functions.inventory_monitor import app as inventory_monitor
from functions.packages_availability import app as packages_availability
from inventory.config import get_settings
from inventory.data.cooldowns import get_cooldown_store
from inventory.data.db import SNAPSHOT_READER, get_connection, reset_connection
from tests.support import services
from tests.support.catalog import component, insert_catalog, package
from tests.support.events import FakeLambdaContext, load_event, response_json
from tests.support.fault_postgres import PROC, FaultablePostgres

pytestmark = pytest.mark.skipif(not PROC.is_dir(), reason="finds the server's processes in /proc")

DEADLINE_SECONDS = 2.0
# What may pass after the deadline before the answer is out: the watchdog's wake-up, the error
# path, the envelope. Far below the 13 s the function would have left in AWS.
SLACK_SECONDS = 1.0

BUCKET = package("Bucket of 5 Beers", [component("Corona", 5, 3)])  # unavailable: alerts


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultablePostgres]:
    own = FaultablePostgres.started(tmp_path_factory.mktemp("fault-postgres") / "data")
    yield own
    own.stop()


@pytest.fixture
def bar(
    server: FaultablePostgres, service_env: pytest.MonkeyPatch, cooldown_table: str
) -> FaultablePostgres:
    """The service pointed at the module's server, with a small deadline and one unavailable
    package (so that a monitor run also inserts)."""
    services.truncate_all(server.url)
    with psycopg.connect(server.url, autocommit=True) as connection:
        insert_catalog(connection, [BUCKET])
    service_env.setenv("DATABASE_URL", server.url)
    service_env.setenv("DB_DEADLINE_SECONDS", str(DEADLINE_SECONDS))
    service_env.setenv("DB_STATEMENT_TIMEOUT_MS", "1000")
    service_env.setenv("DB_CONNECT_TIMEOUT_SECONDS", "2")
    get_settings.cache_clear()
    reset_connection()
    return server


def _list_availability() -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    response = packages_availability.lambda_handler(
        load_event("packages_availability.json"), FakeLambdaContext()
    )
    return response, time.monotonic() - started


def _scheduled_run() -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    result = inventory_monitor.lambda_handler(
        load_event("inventory_monitor_scheduled.json"), FakeLambdaContext()
    )
    return result, time.monotonic() - started


def _warm() -> None:
    """Both connections open and used, as in a container that has served requests."""
    response, _ = _list_availability()
    assert response["statusCode"] == 200
    result, _ = _scheduled_run()
    assert result["success"] is True, result
    assert not get_connection().closed
    assert not get_connection(SNAPSHOT_READER).closed


def test_an_api_request_to_a_frozen_database_is_a_503_within_the_deadline(
    bar: FaultablePostgres,
) -> None:
    _warm()

    with bar.frozen():
        response, elapsed = _list_availability()

    assert response["statusCode"] == 503
    error = response_json(response)["error"]
    assert (error["code"], error["message"]) == (
        "dependency_unavailable",
        "The database did not answer in time.",
    )
    assert DEADLINE_SECONDS - 0.1 <= elapsed < DEADLINE_SECONDS + SLACK_SECONDS
    # Thawed, the next request reconnects and answers.
    assert _list_availability()[0]["statusCode"] == 200


def test_a_scheduled_run_on_a_frozen_database_fails_within_the_deadline(
    bar: FaultablePostgres,
) -> None:
    _warm()

    with bar.frozen():
        result, elapsed = _scheduled_run()

    assert result["success"] is False
    errors = result["summary"]["errors"]
    assert errors == ["evaluation failed: The database did not answer in time."]
    assert elapsed < DEADLINE_SECONDS + SLACK_SECONDS
    assert _scheduled_run()[0]["success"] is True


def test_a_connect_to_a_frozen_database_is_bounded_by_the_connect_timeout(
    bar: FaultablePostgres,
) -> None:
    # No warm connection: the request has to connect, and the kernel accepts the connection
    # for a postmaster that never answers it.
    with bar.frozen():
        response, elapsed = _list_availability()
        result, run_elapsed = _scheduled_run()

    assert response["statusCode"] == 503
    assert response_json(response)["error"]["message"] == "The database is unreachable."
    assert elapsed < DEADLINE_SECONDS + SLACK_SECONDS
    assert result["success"] is False
    assert run_elapsed < DEADLINE_SECONDS + SLACK_SECONDS


def test_after_a_restart_the_next_request_and_the_next_run_succeed(
    bar: FaultablePostgres,
) -> None:
    _warm()
    # The warm-up sent the alerts; the run after the restart must store its own.
    services.truncate_all(bar.url)
    with psycopg.connect(bar.url, autocommit=True) as connection:
        insert_catalog(connection, [BUCKET])
    get_cooldown_store().clear()

    bar.restart()

    response, _ = _list_availability()
    assert response["statusCode"] == 200, response_json(response)
    assert [item["package_name"] for item in response_json(response)["data"]] == [
        BUCKET.package_name
    ]
    result, _ = _scheduled_run()
    assert result["success"] is True, result
    assert result["summary"]["errors"] == []
    assert result["summary"]["notifications_sent"] == 1  # package_unavailable
