"""The database's time limits as settings: validated together, reported without secrets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from inventory.config import get_settings
from inventory.errors import ConfigurationError

SECRET = "postgresql://inventory:n0t-for-messages@db.internal/inventory"


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    monkeypatch.setenv("DATABASE_URL", SECRET)
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def test_the_deadline_defaults_above_the_statement_timeout(environment: pytest.MonkeyPatch) -> None:
    settings = get_settings()
    assert settings.db_statement_timeout_ms < settings.db_deadline_seconds * 1000


def test_a_statement_timeout_not_below_the_deadline_is_refused_without_secrets(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("DB_STATEMENT_TIMEOUT_MS", "12000")
    environment.setenv("DB_DEADLINE_SECONDS", "12")

    with pytest.raises(ConfigurationError) as refused:
        get_settings()

    assert str(refused.value) == (
        "Invalid configuration: DB_STATEMENT_TIMEOUT_MS (12000) must be below "
        "DB_DEADLINE_SECONDS (12 s)"
    )
    assert "n0t-for-messages" not in repr(refused.value.__cause__)


def test_a_deadline_out_of_range_names_the_variable(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("DB_DEADLINE_SECONDS", "0.5")

    with pytest.raises(ConfigurationError, match="DB_DEADLINE_SECONDS"):
        get_settings()


def test_a_fractional_deadline_is_allowed(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("DB_STATEMENT_TIMEOUT_MS", "1000")
    environment.setenv("DB_DEADLINE_SECONDS", "2.5")

    assert get_settings().db_deadline_seconds == 2.5
