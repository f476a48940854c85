"""Reads of single catalogue rows and of package compositions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from inventory.rules.availability import Component, PackageSpec


def fetch_product(connection: psycopg.Connection[Any], product_id: UUID) -> dict[str, Any] | None:
    with connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(
            "SELECT id, name, sku, unit, current_stock, par_level, is_active"
            " FROM products WHERE id = %s",
            (product_id,),
        )
        return cursor.fetchone()


def fetch_quantities_of_product(
    connection: psycopg.Connection[Any], product_id: UUID
) -> dict[UUID, Decimal]:
    """Quantity of the product in each package that uses it."""
    with connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(
            "SELECT package_id, quantity FROM package_items WHERE product_id = %s", (product_id,)
        )
        return {row["package_id"]: row["quantity"] for row in cursor.fetchall()}


def fetch_package_specs(
    connection: psycopg.Connection[Any], package_ids: list[UUID] | None = None
) -> list[PackageSpec]:
    """Packages with their components for the pure rules, in one statement.

    `None` selects every active package; a list selects those ids whatever their activity.
    """
    where = "pk.is_active" if package_ids is None else "pk.id = ANY(%(ids)s)"
    query = f"""
        SELECT pk.id, pk.name, pk.is_active, pk.normal_max_sellable,
               p.id AS product_id, p.name AS product_name, pi.quantity,
               p.current_stock, p.is_active AS product_active, p.par_level
        FROM packages pk
        LEFT JOIN package_items pi ON pi.package_id = pk.id
        LEFT JOIN products p ON p.id = pi.product_id
        WHERE {where}
        ORDER BY pk.name COLLATE "C", pk.id
    """
    specs: dict[UUID, PackageSpec] = {}
    components: dict[UUID, list[Component]] = {}
    with connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(query, {"ids": package_ids})
        for row in cursor:
            if row["id"] not in specs:
                specs[row["id"]] = PackageSpec(
                    package_id=row["id"],
                    package_name=row["name"],
                    is_active=row["is_active"],
                    normal_max_sellable=row["normal_max_sellable"],
                )
                components[row["id"]] = []
            if row["product_id"] is not None:
                components[row["id"]].append(
                    Component(
                        product_id=row["product_id"],
                        product_name=row["product_name"],
                        quantity=row["quantity"],
                        current_stock=row["current_stock"],
                        is_active=row["product_active"],
                        par_level=row["par_level"],
                    )
                )
    return [
        PackageSpec(
            package_id=spec.package_id,
            package_name=spec.package_name,
            components=tuple(components[spec.package_id]),
            is_active=spec.is_active,
            normal_max_sellable=spec.normal_max_sellable,
        )
        for spec in specs.values()
    ]
