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
WITH components AS (
    SELECT pi.package_id,
           p.id AS product_id,
           p.name AS product_name,
           p.current_stock,
           pi.quantity,
           (CASE WHEN p.is_active THEN p.current_stock ELSE 0 END)::numeric(1000, 40)
               / pi.quantity AS ratio,
           p.par_level::numeric(1000, 40) / pi.quantity AS par_ratio
    FROM packages pk
    JOIN package_items pi ON pi.package_id = pk.id
    JOIN products p ON p.id = pi.product_id
    WHERE {package_filter}
), per_package AS (
    -- Components ordered by (ratio, name, id): the limiting ones come first, the bottleneck
    -- first of all. One shared ORDER BY lets PostgreSQL sort the input once for every
    -- aggregate, with no window pass over the components.
    SELECT package_id,
           count(*) AS component_count,
           floor(min(par_ratio)) AS par_baseline,
           array_agg(ratio ORDER BY ratio, product_name COLLATE "C", product_id) AS ratios,
           array_agg(product_id ORDER BY ratio, product_name COLLATE "C", product_id) AS ids,
           (array_agg(product_name ORDER BY ratio, product_name COLLATE "C", product_id))[1]
               AS bottleneck_name,
           (array_agg(current_stock ORDER BY ratio, product_name COLLATE "C", product_id))[1]
               AS bottleneck_stock,
           (array_agg(quantity ORDER BY ratio, product_name COLLATE "C", product_id))[1]
               AS bottleneck_quantity
    FROM components
    GROUP BY package_id
)
SELECT pk.id AS package_id,
       pk.name AS package_name,
       pk.is_active,
       pk.normal_max_sellable,
       coalesce(pp.component_count, 0) AS component_count,
       floor(pp.ratios[1]) AS min_ratio_floor,
       pp.par_baseline,
       -- The ties of the minimum ratio: array_positions counts them with numeric equality.
       coalesce(pp.ids[1:cardinality(array_positions(pp.ratios, pp.ratios[1]))], '{{}}')
           AS limiting_ids,
       pp.bottleneck_name,
       pp.bottleneck_stock,
       pp.bottleneck_quantity
FROM packages pk
LEFT JOIN per_package pp ON pp.package_id = pk.id
WHERE {package_filter}
ORDER BY pk.name COLLATE "C", pk.id
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
