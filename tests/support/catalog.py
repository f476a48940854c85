"""Writing catalogues (from the rules' own PackageSpec values) into PostgreSQL for tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import psycopg

from inventory.rules.availability import Component, PackageSpec


def insert_catalog(connection: psycopg.Connection[Any], specs: Sequence[PackageSpec]) -> None:
    """Insert every package and (deduplicated) product the specs mention."""
    products: dict[uuid.UUID, Component] = {}
    for spec in specs:
        for component in spec.components:
            products.setdefault(component.product_id, component)
    with connection.cursor() as cursor:
        if products:
            cursor.executemany(
                "INSERT INTO products (id, name, current_stock, par_level, is_active)"
                " VALUES (%s, %s, %s, %s, %s)",
                [
                    (c.product_id, c.product_name, c.current_stock, c.par_level, c.is_active)
                    for c in products.values()
                ],
            )
        if specs:
            cursor.executemany(
                "INSERT INTO packages (id, name, is_active, normal_max_sellable)"
                " VALUES (%s, %s, %s, %s)",
                [(s.package_id, s.package_name, s.is_active, s.normal_max_sellable) for s in specs],
            )
        items = [(s.package_id, c.product_id, c.quantity) for s in specs for c in s.components]
        if items:
            cursor.executemany(
                "INSERT INTO package_items (package_id, product_id, quantity) VALUES (%s, %s, %s)",
                items,
            )


def component(
    name: str,
    quantity: str | int | Decimal,
    stock: str | int | Decimal,
    *,
    par: str | int | Decimal | None = None,
    active: bool = True,
    product_id: uuid.UUID | None = None,
) -> Component:
    return Component(
        product_id=product_id or uuid.uuid5(uuid.NAMESPACE_OID, name),
        product_name=name,
        quantity=Decimal(quantity),
        current_stock=Decimal(stock),
        is_active=active,
        par_level=None if par is None else Decimal(par),
    )


def package(
    name: str,
    components: Iterable[Component] = (),
    *,
    normal: int | None = None,
    active: bool = True,
) -> PackageSpec:
    return PackageSpec(
        package_id=uuid.uuid5(uuid.NAMESPACE_OID, "package:" + name),
        package_name=name,
        components=tuple(components),
        is_active=active,
        normal_max_sellable=normal,
    )
