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
    connection: psycopg.Connection[Any], package_ids: list[UUID]
) -> list[PackageSpec]:
    """The named packages (whatever their activity) with their components, in one statement."""
    query = """
        SELECT pk.id, pk.name, pk.is_active, pk.normal_max_sellable,
               p.id AS product_id, p.name AS product_name, pi.quantity,
               p.current_stock, p.is_active AS product_active, p.par_level
        FROM packages pk
        LEFT JOIN package_items pi ON pi.package_id = pk.id
        LEFT JOIN products p ON p.id = pi.product_id
        WHERE pk.id = ANY(%(ids)s)
        ORDER BY pk.name COLLATE "C", pk.id
    """
    rows_by_package: dict[UUID, list[dict[str, Any]]] = {}
    with connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(query, {"ids": package_ids})
        for row in cursor:
            rows_by_package.setdefault(row["id"], []).append(row)
    return [
        PackageSpec(
            package_id=package_id,
            package_name=rows[0]["name"],
            components=tuple(
                Component(
                    product_id=row["product_id"],
                    product_name=row["product_name"],
                    quantity=row["quantity"],
                    current_stock=row["current_stock"],
                    is_active=row["product_active"],
                    par_level=row["par_level"],
                )
                for row in rows
                if row["product_id"] is not None
            ),
            is_active=rows[0]["is_active"],
            normal_max_sellable=rows[0]["normal_max_sellable"],
        )
        for package_id, rows in rows_by_package.items()
    ]
