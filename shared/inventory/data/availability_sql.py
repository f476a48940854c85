"""Availability of many packages in one set-based statement.

The statement returns, per package, the figures the pure rules classify: minimum ratio,
par-derived baseline, the limiting products ordered by (name, id) and the first of them.

Ratios are divided at scale 40 (`numeric(1000, 40)` dividend): PostgreSQL rounds numeric
division to the dividend's scale, and at 40 decimals two distinct stock/quantity ratios of
values with up to 12 decimals never collide, while equal ratios (0.3/0.1 and 3/1) are
identical. The property tests compare this path against an exact-fraction oracle.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, LiteralString
from uuid import UUID

import psycopg
from psycopg import sql

from inventory.rules.availability import (
    Bottleneck,
    PackageAvailability,
    classify,
    floor_non_negative,
)

_AVAILABILITY_SQL: LiteralString = """
WITH selected AS (
    SELECT pk.id, pk.name, pk.is_active, pk.normal_max_sellable
    FROM packages pk
    WHERE {package_filter}
), components AS (
    SELECT pi.package_id,
           p.id AS product_id,
           p.name AS product_name,
           p.current_stock,
           pi.quantity,
           (CASE WHEN p.is_active THEN p.current_stock ELSE 0 END)::numeric(1000, 40)
               / pi.quantity AS ratio,
           p.par_level::numeric(1000, 40) / pi.quantity AS par_ratio
    FROM selected s
    JOIN package_items pi ON pi.package_id = s.id
    JOIN products p ON p.id = pi.product_id
), with_min AS (
    SELECT c.*, min(c.ratio) OVER (PARTITION BY c.package_id) AS min_ratio
    FROM components c
), per_package AS (
    SELECT package_id,
           count(*) AS component_count,
           min(min_ratio) AS min_ratio,
           floor(min(par_ratio)) AS par_baseline,
           array_agg(product_id ORDER BY product_name COLLATE "C", product_id)
               FILTER (WHERE ratio = min_ratio) AS limiting_ids,
           (array_agg(product_name ORDER BY product_name COLLATE "C", product_id)
               FILTER (WHERE ratio = min_ratio))[1] AS bottleneck_name,
           (array_agg(current_stock ORDER BY product_name COLLATE "C", product_id)
               FILTER (WHERE ratio = min_ratio))[1] AS bottleneck_stock,
           (array_agg(quantity ORDER BY product_name COLLATE "C", product_id)
               FILTER (WHERE ratio = min_ratio))[1] AS bottleneck_quantity
    FROM with_min
    GROUP BY package_id
)
SELECT s.id AS package_id,
       s.name AS package_name,
       s.is_active,
       s.normal_max_sellable,
       coalesce(pp.component_count, 0) AS component_count,
       floor(pp.min_ratio) AS min_ratio_floor,
       pp.par_baseline,
       coalesce(pp.limiting_ids, '{{}}') AS limiting_ids,
       pp.bottleneck_name,
       pp.bottleneck_stock,
       pp.bottleneck_quantity
FROM selected s
LEFT JOIN per_package pp ON pp.package_id = s.id
ORDER BY s.name COLLATE "C", s.id
"""


@dataclass(frozen=True, slots=True)
class PackageFilter:
    """Which packages one availability statement covers."""

    clause: sql.Composable
    params: dict[str, Any]


ACTIVE_PACKAGES = PackageFilter(sql.SQL("pk.is_active"), {})


def package_by_id(package_id: UUID) -> PackageFilter:
    return PackageFilter(sql.SQL("pk.id = %(package_id)s"), {"package_id": package_id})


def packages_using_product(product_id: UUID) -> PackageFilter:
    return PackageFilter(
        sql.SQL(
            "pk.id IN (SELECT package_id FROM package_items WHERE product_id = %(product_id)s)"
        ),
        {"product_id": product_id},
    )


def _to_availability(row: dict[str, Any], threshold: Decimal) -> PackageAvailability:
    has_components = row["component_count"] > 0
    max_sellable = floor_non_negative(row["min_ratio_floor"]) if has_components else None
    par = row["par_baseline"]
    baseline = row["normal_max_sellable"]
    if baseline is None and par is not None:
        baseline = int(par)
    limiting: list[UUID] = list(row["limiting_ids"])
    return PackageAvailability(
        package_id=row["package_id"],
        package_name=row["package_name"],
        max_sellable=max_sellable,
        status=classify(
            max_sellable,
            baseline,
            threshold,
            has_components=has_components,
            is_active=row["is_active"],
        ),
        baseline=baseline,
        bottleneck=(
            Bottleneck(
                product_id=limiting[0],
                product_name=row["bottleneck_name"],
                current_stock=row["bottleneck_stock"],
                quantity_per_package=row["bottleneck_quantity"],
            )
            if limiting
            else None
        ),
        limiting_product_ids=tuple(limiting),
    )


def fetch_availability(
    connection: psycopg.Connection[Any],
    package_filter: PackageFilter,
    threshold: Decimal,
) -> list[PackageAvailability]:
    """Availability of every package the filter selects, in one round trip, by (name, id)."""
    query = sql.SQL(_AVAILABILITY_SQL).format(package_filter=package_filter.clause)
    with connection.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        cursor.execute(query, package_filter.params)
        return [_to_availability(row, threshold) for row in cursor.fetchall()]
