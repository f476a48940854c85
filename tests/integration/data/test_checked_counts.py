"""How many packages and products a run checked: counted by SQL where they are read."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg

from inventory.data.availability_sql import fetch_problem_packages
from inventory.data.usage import fetch_stockout_candidates
from tests.support.catalog import component, insert_catalog, package

NOW = datetime(2025, 10, 21, 12, 0, tzinfo=UTC)
THRESHOLD = Decimal("0.2")


def test_packages_without_components_or_inactive_are_not_counted(
    db: psycopg.Connection[Any],
) -> None:
    empty = package("Coming soon")
    old = package("Old", [component("Rum", 1, 0)], active=False)
    fine = package("Beer", [component("Lager", 1, 50)])
    insert_catalog(db, [empty, old, fine])
    assert fetch_problem_packages(db, THRESHOLD).packages_checked == 1


def test_every_active_package_and_product_is_counted(db: psycopg.Connection[Any]) -> None:
    insert_catalog(
        db,
        [
            package("A unavailable", [component("Corona", 5, 3)]),
            package("B low", [component("Corona", 1, 3)], normal=20),
            package("C fine", [component("Gin", 1, 100)]),
        ],
    )
    db.execute(
        "INSERT INTO products (name, current_stock, is_active)"
        " VALUES ('Apple', 2, true), ('Old', 1, false)"
    )
    problems = fetch_problem_packages(db, THRESHOLD)
    candidates = fetch_stockout_candidates(db, NOW, lookback_days=28, prediction_days=Decimal(7))
    assert (problems.packages_checked, candidates.products_checked) == (3, 3)
