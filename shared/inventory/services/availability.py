"""Availability use cases behind the three read endpoints."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg

from inventory.config import get_settings
from inventory.data import catalog
from inventory.data.availability_sql import (
    ACTIVE_PACKAGES,
    ListExtent,
    active_page,
    fetch_availability,
    measure_list,
    package_by_id,
    packages_using_product,
)
from inventory.errors import NotFoundError
from inventory.models.availability import PackageImpact, PackageUsage, ProductOut
from inventory.rules.availability import PackageAvailability, usable_stock


def all_packages(connection: psycopg.Connection[Any]) -> list[PackageAvailability]:
    """Every active package, by (name, id): one SQL round trip whatever the catalogue size."""
    return fetch_availability(
        connection, ACTIVE_PACKAGES, get_settings().package_low_stock_threshold
    )


def all_packages_extent(connection: psycopg.Connection[Any]) -> ListExtent:
    """How many packages `all_packages` would return (and their names' bytes), with the
    catalogue version: one statement over the packages table, under the same filter."""
    return measure_list(connection, ACTIVE_PACKAGES)


def package_page(
    connection: psycopg.Connection[Any], after: tuple[str, UUID] | None, limit: int
) -> tuple[list[PackageAvailability], bool]:
    """The `limit` active packages after the (name, id) key `after`, and whether more follow:
    one SQL round trip that reads only those packages (limit + 1 rows, to know)."""
    rows = fetch_availability(
        connection, active_page(after, limit + 1), get_settings().package_low_stock_threshold
    )
    return rows[:limit], len(rows) > limit


def one_package(connection: psycopg.Connection[Any], package_id: UUID) -> PackageAvailability:
    rows = fetch_availability(
        connection, package_by_id(package_id), get_settings().package_low_stock_threshold
    )
    if not rows:
        raise NotFoundError(f"Package {package_id} does not exist.")
    return rows[0]


def package_impact(connection: psycopg.Connection[Any], product_id: UUID) -> PackageImpact:
    """The product and every package that uses it, with whether the product limits each.

    The three reads share one snapshot, so a composition edited meanwhile cannot make them
    disagree.
    """
    with connection.transaction():
        connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        product = catalog.fetch_product(connection, product_id)
        if product is None:
            raise NotFoundError(f"Product {product_id} does not exist.")
        quantities = catalog.fetch_quantities_of_product(connection, product_id)
        packages = fetch_availability(
            connection,
            packages_using_product(product_id),
            get_settings().package_low_stock_threshold,
        )
    return PackageImpact(
        product=ProductOut(
            **product,
            usable_stock=usable_stock(product["current_stock"], product["is_active"]),
        ),
        packages=[
            PackageUsage(
                package_id=item.package_id,
                package_name=item.package_name,
                is_active=item.status != "inactive",
                quantity_per_package=quantities[item.package_id],
                max_sellable=item.max_sellable,
                status=item.status,
                is_limiting=product_id in item.limiting_product_ids,
            )
            for item in packages
        ],
    )
