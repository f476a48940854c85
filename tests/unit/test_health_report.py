"""check_health's mapping of faults to statuses, with fakes instead of services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg

from inventory.data.cooldowns.disabled import DisabledCooldownStore
from inventory.errors import ConfigurationError, DependencyUnavailableError
from inventory.services.health import check_health


class _Connection:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.queries: list[str] = []

    def execute(self, query: str) -> Any:
        self.queries.append(query)
        if self.error is not None:
            raise self.error
        return self

    def fetchone(self) -> tuple[int]:
        return (1,)


def _factory(connection: _Connection | None = None, error: Exception | None = None) -> Any:
    @contextmanager
    def connect() -> Iterator[_Connection]:
        if error is not None:
            raise error
        yield connection or _Connection()

    return connect


class _DownStore(DisabledCooldownStore):
    def ping(self) -> None:
        raise DependencyUnavailableError("The cooldown table did not answer.")

    def stats(self, now: datetime) -> dict[str, int]:
        raise AssertionError("the health check only pings")


def test_a_query_that_fails_reports_the_error_class_not_its_text() -> None:
    failing = _Connection(psycopg.errors.QueryCanceled("canceling SELECT password FROM users"))

    report = check_health(_factory(failing), DisabledCooldownStore())

    assert failing.queries == ["SELECT 1"]
    assert report.postgres.status == "error"
    assert report.postgres.reason == "The database check failed (QueryCanceled)."
    assert "password" not in report.model_dump_json()
    assert report.healthy is False


def test_missing_configuration_is_a_reported_fault() -> None:
    error = ConfigurationError("DATABASE_URL or DATABASE_SECRET_ARN must be set.")

    report = check_health(_factory(error=error), DisabledCooldownStore())

    assert report.postgres.status == "error"
    assert report.postgres.reason == "DATABASE_URL or DATABASE_SECRET_ARN must be set."


def test_store_that_does_not_answer_makes_the_report_unhealthy() -> None:
    report = check_health(_factory(), _DownStore())

    assert report.postgres.status == "ok"
    assert report.cooldown_table.status == "error"
    assert report.healthy is False
    assert report.failure_summary() == "cooldown_table: The cooldown table did not answer."


def test_both_answering_is_healthy() -> None:
    report = check_health(_factory(), DisabledCooldownStore())

    assert report.healthy is True
    assert report.model_dump()["postgres"]["status"] == "ok"
