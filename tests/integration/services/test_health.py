"""The health check against the real embedded PostgreSQL and moto's DynamoDB server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
import pytest

from inventory.data.cooldowns import get_cooldown_store
from inventory.data.cooldowns.dynamodb import DynamoCooldownStore
from inventory.data.db import ping
from inventory.services.health import check_health
from tests.support import services

SECRET_PASSWORD = "hunter2-not-for-logs"


@pytest.fixture
def postgres_down(service_env: pytest.MonkeyPatch) -> None:
    """DATABASE_URL names a port nothing listens on, with a password that must not leak."""
    port = services.free_port()
    service_env.setenv(
        "DATABASE_URL", f"postgresql://inventory:{SECRET_PASSWORD}@127.0.0.1:{port}/inventory"
    )
    service_env.setenv("DB_CONNECT_TIMEOUT_SECONDS", "2")


@pytest.fixture
def dynamodb_down(cooldown_table: str, service_env: pytest.MonkeyPatch) -> None:
    service_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{services.free_port()}")
    get_cooldown_store.cache_clear()


def test_healthy_when_postgres_and_the_table_answer(
    db: psycopg.Connection[Any], cooldown_table: str
) -> None:
    report = check_health(ping, get_cooldown_store())

    assert report.healthy is True
    assert report.postgres.status == "ok"
    assert report.cooldown_table.status == "ok"
    assert report.postgres.latency_ms >= 0
    assert report.postgres.reason is None
    assert report.failure_summary() == ""


def test_postgres_down_is_reported_alone_without_the_password(
    postgres_down: None, cooldown_table: str
) -> None:
    report = check_health(ping, get_cooldown_store())

    assert report.healthy is False
    assert report.postgres.status == "error"
    assert report.postgres.reason == "The database is unreachable."
    assert report.cooldown_table.status == "ok"
    assert SECRET_PASSWORD not in report.model_dump_json()
    assert report.failure_summary() == "postgres: The database is unreachable."


def test_cooldown_table_down_is_reported_alone(
    db: psycopg.Connection[Any], dynamodb_down: None
) -> None:
    report = check_health(ping, get_cooldown_store())

    assert report.healthy is False
    assert report.postgres.status == "ok"
    assert report.cooldown_table.status == "error"
    assert report.cooldown_table.reason == "The cooldown table did not answer."
    assert "Traceback" not in report.model_dump_json()


def test_both_down_are_both_reported(postgres_down: None, dynamodb_down: None) -> None:
    report = check_health(ping, get_cooldown_store())

    assert report.healthy is False
    assert (report.postgres.status, report.cooldown_table.status) == ("error", "error")
    assert report.failure_summary().startswith("postgres: ")
    assert "; cooldown_table: " in report.failure_summary()


def test_missing_table_is_unhealthy(db: psycopg.Connection[Any], cooldown_table: str) -> None:
    report = check_health(ping, DynamoCooldownStore("no-such-table", timedelta(hours=1)))

    assert report.healthy is False
    assert report.cooldown_table.status == "error"


def test_disabled_cooldown_needs_no_table(
    db: psycopg.Connection[Any], service_env: pytest.MonkeyPatch
) -> None:
    service_env.setenv("NOTIFICATION_COOLDOWN_HOURS", "0")
    get_cooldown_store.cache_clear()
    try:
        report = check_health(ping, get_cooldown_store())
    finally:
        get_cooldown_store.cache_clear()

    assert report.healthy is True
    assert report.cooldown_table.status == "ok"
