"""Unit tests are offline: a test here asking for a real service is a collection error."""

from __future__ import annotations

from pathlib import Path

import pytest

# Every fixture that reaches PostgreSQL or moto depends on one of these.
SERVICE_FIXTURES = frozenset({"database_url", "moto_endpoint"})
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    offline = [item for item in items if item.path.is_relative_to(HERE)]
    online = [
        item.nodeid for item in offline if SERVICE_FIXTURES & set(getattr(item, "fixturenames", ()))
    ]
    if online:
        raise pytest.UsageError(
            "unit tests need no PostgreSQL or DynamoDB; move these to tests/integration: "
            + ", ".join(online)
        )
