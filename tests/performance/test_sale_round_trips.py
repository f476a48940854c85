"""A sale costs the same SQL round trips whatever its size."""

from __future__ import annotations

from typing import Any

import psycopg

from inventory.data.db import get_connection
from tests.support.catalog import component, insert_catalog, package
from tests.support.events import FakeLambdaContext
from tests.support.pos_sales import sell
from tests.support.statements import counting_statements


def _statements_for_sale(
    db: psycopg.Connection[Any], lines: int, context: FakeLambdaContext
) -> int:
    db.execute("TRUNCATE package_items, packages, products CASCADE")
    catalog = [
        package(
            f"Package {n}",
            [component(f"Shared {n % 3}", 1, "1000"), component(f"Own {n}", 1, "1000")],
        )
        for n in range(lines)
    ]
    insert_catalog(db, catalog)
    body = {"items": [{"package_id": str(spec.package_id), "quantity": 1} for spec in catalog]}
    connection = get_connection()
    with counting_statements(connection) as counter:
        response = sell(context, body)
    assert response["statusCode"] == 201, response["body"]
    return counter.count


def test_a_sale_of_1_or_50_lines_costs_the_same_statements(
    db: psycopg.Connection[Any], idempotency_table: str, lambda_context: FakeLambdaContext
) -> None:
    small = _statements_for_sale(db, 1, lambda_context)
    large = _statements_for_sale(db, 50, lambda_context)
    assert small == large
    # The claim, the lock, the specs, the write, its versions, the availability, the answer,
    # the stock.changed event owed (BEGIN and COMMIT besides; with a bus, two more after the
    # commit: the event's read and its mark).
    assert small == 8, small
