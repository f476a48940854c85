"""POST /api/pos/cart/validate costs two SQL statements, whatever mix of lines the cart has.

Moved from tests/integration/handlers/test_cart_validate.py.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from devtools.demo_data import load_demo
from inventory.data.db import get_connection
from tests.support.cart_requests import CUBA_LIBRE, LIMES, MOJITO, lines, validate
from tests.support.events import FakeLambdaContext
from tests.support.statements import counting_statements


@pytest.fixture
def bar(db: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    load_demo(db)
    return db


def test_cart_of_packages_and_products_costs_two_statements(
    bar: Any, lambda_context: FakeLambdaContext
) -> None:
    body = lines(("package_id", MOJITO, 1), ("package_id", CUBA_LIBRE, 1), ("product_id", LIMES, 1))
    validate(lambda_context)  # opens the container's connection
    with counting_statements(get_connection()) as counter:
        response = validate(lambda_context, body)
    assert response["statusCode"] == 200
    assert counter.count == 2
