"""POST /api/pos/cart/validate costs two SQL statements, whatever mix of lines the cart has.

Moved from tests/integration/handlers/test_cart_validate.py with the helpers it uses.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from devtools.demo_data import load_demo, package_id, product_id
from functions.cart_validate import app as cart_validate
from inventory.data.db import get_connection
from tests.support.events import FakeLambdaContext, http_event
from tests.support.statements import counting_statements

MOJITO = str(package_id("Mojito"))
CUBA_LIBRE = str(package_id("Cuba Libre"))
LIMES = str(product_id("Limes"))


@pytest.fixture
def bar(db: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    load_demo(db)
    return db


def validate(context: FakeLambdaContext, body: Any = None, **event: Any) -> dict[str, Any]:
    response: dict[str, Any] = cart_validate.lambda_handler(
        http_event("cart_validate.json", body=body, **event), context
    )
    return response


def lines(*items: tuple[str, str, Any]) -> dict[str, Any]:
    return {"items": [{kind: ref, "quantity": quantity} for kind, ref, quantity in items]}


def test_cart_of_packages_and_products_costs_two_statements(
    bar: Any, lambda_context: FakeLambdaContext
) -> None:
    body = lines(("package_id", MOJITO, 1), ("package_id", CUBA_LIBRE, 1), ("product_id", LIMES, 1))
    validate(lambda_context)  # opens the container's connection
    with counting_statements(get_connection()) as counter:
        response = validate(lambda_context, body)
    assert response["statusCode"] == 200
    assert counter.count == 2
