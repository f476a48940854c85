"""check_health's mapping of faults to statuses, with fakes instead of services."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import psycopg

from inventory.data.cooldowns.disabled import DisabledCooldownStore
from inventory.errors import ConfigurationError, DependencyUnavailableError
from inventory.services.health import check_health


def _ping(error: Exception | None = None) -> Callable[[], None]:
    def ping() -> None:
        if error is not None:
            raise error

    return ping


class _DownStore(DisabledCooldownStore):
    def ping(self) -> None:
        raise DependencyUnavailableError("The cooldown table did not answer.")

    def stats(self, now: datetime) -> dict[str, int]:
        raise AssertionError("the health check only pings")


def test_a_query_that_fails_reports_the_error_class_not_its_text() -> None:
    failing = _ping(psycopg.errors.QueryCanceled("canceling SELECT password FROM users"))

    report = check_health(failing, DisabledCooldownStore())

    assert report.postgres.status == "error"
    assert report.postgres.reason == "The database check failed (QueryCanceled)."
    assert "password" not in report.model_dump_json()
    assert report.healthy is False


def test_missing_configuration_is_a_reported_fault() -> None:
    error = ConfigurationError("DATABASE_URL or DATABASE_SECRET_ARN must be set.")

    report = check_health(_ping(error), DisabledCooldownStore())

    assert report.postgres.status == "error"
    assert report.postgres.reason == "DATABASE_URL or DATABASE_SECRET_ARN must be set."


def test_store_that_does_not_answer_makes_the_report_unhealthy() -> None:
    report = check_health(_ping(), _DownStore())

    assert report.postgres.status == "ok"
    assert report.cooldown_table.status == "error"
    assert report.healthy is False
    assert report.failure_summary() == "cooldown_table: The cooldown table did not answer."


def test_both_answering_is_healthy() -> None:
    report = check_health(_ping(), DisabledCooldownStore())

    assert report.healthy is True
    assert report.model_dump()["postgres"]["status"] == "ok"
