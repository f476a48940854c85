"""Availability of many packages in one set-based statement.

The statement returns, per package, the figures the pure rules classify: minimum ratio,
par-derived baseline, the limiting products ordered by (name, id) and the first of them.

Ratios and usable stock are the rule's own SQL (data/rule_sql.py). The property tests compare
this path against an exact-fraction oracle.

The monitor needs less: only the packages that can raise an alert (unavailable or low) and
how many were checked. `fetch_problem_packages` decides the status in SQL and details only
those packages, so a catalogue of mostly healthy packages costs one hash aggregate and a few
thousand rows instead of sorted arrays and Python objects for every package; only the
components that can be limiting pay the exact ratio. It also returns what the alerts say about
the limiting products (unit, active flag), once per product, so the monitor's usage statement
does not depend on it and both can run at once, in one snapshot.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, LiteralString
from uuid import UUID

import psycopg
from psycopg import sql

from inventory.data.catalog_version import VERSION_QUERY, checked_version
from inventory.data.rule_sql import WHOLE_PACKAGES, with_rules
from inventory.rules.alerts import ProductFigures
from inventory.rules.availability import (
    Bottleneck,
    PackageAvailability,
    Status,
    classify,
    floor_non_negative,
)

_AVAILABILITY_SQL: LiteralString = with_rules("""
WITH components AS (
    SELECT pi.package_id,
           p.id AS product_id,
           p.name AS product_name,
           p.current_stock,
           p.is_active AS product_active,
           pi.quantity,
           {exact_ratio} AS ratio,
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
               AS bottleneck_quantity,
           (array_agg(product_active ORDER BY ratio, product_name COLLATE "C", product_id))[1]
               AS bottleneck_active
    FROM components
    GROUP BY package_id
)
SELECT pk.id,
       pk.name,
       pk.is_active,
       pk.normal_max_sellable,
       coalesce(pp.component_count, 0),
       floor(pp.ratios[1]),
       pp.par_baseline,
       -- The ties of the minimum ratio: array_positions counts them with numeric equality.
       coalesce(pp.ids[1:cardinality(array_positions(pp.ratios, pp.ratios[1]))], '{{}}'),
       pp.bottleneck_name,
       pp.bottleneck_stock,
       pp.bottleneck_quantity,
       pp.bottleneck_active
FROM packages pk
LEFT JOIN per_package pp ON pp.package_id = pk.id
WHERE {package_filter}
ORDER BY pk.name COLLATE "C", pk.id
""")


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


def active_packages_changed_by(deltas: Mapping[UUID, Decimal]) -> PackageFilter:
    """The active packages whose max sellable the committed changes `deltas` (new stock minus
    old, by product) moved: their status, a function of it, is the only other figure a change
    of stock moves. The old level is the current one minus the delta; whole packages are
    compared clamped at 0, as `max_sellable` is (div() truncates, which equals floor() once
    clamped)."""
    old_usable = "(CASE WHEN p.is_active THEN p.current_stock - coalesce(d.delta, 0) ELSE 0 END)"
    return PackageFilter(
        sql.SQL(
            "pk.is_active AND pk.id IN ("
            " SELECT pi.package_id FROM package_items pi"
            " JOIN products p ON p.id = pi.product_id"
            " LEFT JOIN unnest(%(changed_ids)s::uuid[], %(changed_deltas)s::numeric[])"
            "   AS d(id, delta) ON d.id = p.id"
            " WHERE pi.package_id IN (SELECT package_id FROM package_items"
            "   WHERE product_id = ANY(%(changed_ids)s))"
            " GROUP BY pi.package_id"
            " HAVING greatest(0, min(" + WHOLE_PACKAGES + "))"
            "   <> greatest(0, min(div(" + old_usable + ", pi.quantity))))"
        ),
        {"changed_ids": list(deltas), "changed_deltas": list(deltas.values())},
    )


def active_page(after: tuple[str, UUID] | None, rows: int) -> PackageFilter:
    """The first `rows` active packages after the (name, id) key `after`, in list order.

    The row comparison under COLLATE "C" is the list's own order, and an index range scan
    (migration 0003). `= ANY(ARRAY(...))` hands the page's ids over as one array, so packages,
    their items and products are read by index (`IN (subquery)` scanned the packages twice).
    """
    keyset = sql.SQL(
        'AND (p2.name COLLATE "C", p2.id) > (%(after_name)s COLLATE "C", %(after_id)s)'
    )
    return PackageFilter(
        sql.SQL(
            "pk.id = ANY(ARRAY(SELECT p2.id FROM packages p2 WHERE p2.is_active {keyset} "
            'ORDER BY p2.name COLLATE "C", p2.id LIMIT %(page_rows)s))'
        ).format(keyset=keyset if after is not None else sql.SQL("")),
        {
            "after_name": after[0] if after else None,
            "after_id": after[1] if after else None,
            "page_rows": rows,
        },
    )


def _to_availability(row: Sequence[Any], threshold: Decimal) -> PackageAvailability:
    (
        package_id,
        package_name,
        is_active,
        normal_max_sellable,
        component_count,
        min_ratio_floor,
        par,
        limiting_ids,
        bottleneck_name,
        bottleneck_stock,
        bottleneck_quantity,
        bottleneck_active,
    ) = row
    has_components = component_count > 0
    max_sellable = floor_non_negative(min_ratio_floor) if has_components else None
    baseline = normal_max_sellable
    if baseline is None and par is not None:
        baseline = int(par)
    limiting: list[UUID] = list(limiting_ids)
    return PackageAvailability(
        package_id=package_id,
        package_name=package_name,
        max_sellable=max_sellable,
        status=classify(
            max_sellable,
            baseline,
            threshold,
            has_components=has_components,
            is_active=is_active,
        ),
        baseline=baseline,
        bottleneck=(
            Bottleneck(
                product_id=limiting[0],
                product_name=bottleneck_name,
                current_stock=bottleneck_stock,
                quantity_per_package=bottleneck_quantity,
                is_active=bottleneck_active,
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
    # Tuples: a dict per row costs more than the conversion itself on large catalogues.
    with connection.cursor(row_factory=psycopg.rows.tuple_row) as cursor:
        cursor.execute(query, package_filter.params)
        return [_to_availability(row, threshold) for row in cursor.fetchall()]


# --- how large a list would be, before computing it ------------------------------------------

_EXTENT_SQL: LiteralString = (
    """
SELECT ("""
    + VERSION_QUERY
    + """),
       count(*),
       coalesce(sum(octet_length(pk.name)), 0)
FROM packages pk
WHERE {package_filter}
"""
)


@dataclass(frozen=True, slots=True)
class ListExtent:
    """What the list of a filter's packages would hold, without computing it: how many
    packages, and the UTF-8 bytes of their names. With the catalogue version, read in the
    same statement (the same snapshot)."""

    version: int
    packages: int
    name_bytes: int


def measure_list(connection: psycopg.Connection[Any], package_filter: PackageFilter) -> ListExtent:
    """The packages the filter selects, counted under the very clause the availability
    statement uses, and the catalogue version: one round trip over the packages table alone
    (no items, no products, no ratio)."""
    query = sql.SQL(_EXTENT_SQL).format(package_filter=package_filter.clause)
    with connection.cursor(row_factory=psycopg.rows.tuple_row) as cursor:
        cursor.execute(query, package_filter.params)
        row = cursor.fetchone()
    assert row is not None  # an aggregate without GROUP BY always returns its row
    version, packages, name_bytes = row
    return ListExtent(checked_version(version), int(packages), int(name_bytes))


# --- the monitor's view: problem packages only ----------------------------------------------

_PROBLEMS_SQL: LiteralString = with_rules("""
WITH per_package AS (
    -- The minimum of the truncated quotients is the floor of the minimum ratio once clamped
    -- at 0 (par levels are positive too). No scale-40 division, no sort: a hash aggregate.
    SELECT pi.package_id,
           greatest(0, min({whole_packages})) AS max_sellable,
           min(div(p.par_level, pi.quantity)) AS par_baseline
    FROM package_items pi
    JOIN products p ON p.id = pi.product_id
    WHERE pi.package_id BETWEEN %(first_id)s AND %(last_id)s
    GROUP BY pi.package_id
), judged AS (
    -- Active packages with components: the ones a run evaluates.
    SELECT pk.id, pk.name, pp.max_sellable,
           coalesce(pk.normal_max_sellable, pp.par_baseline) AS baseline
    FROM packages pk
    JOIN per_package pp ON pp.package_id = pk.id
    WHERE pk.is_active
), checked AS (
    SELECT count(*) AS packages FROM judged
), problems AS (
    -- rules.availability.classify, exactly: numeric multiplication does not round.
    SELECT id, name, max_sellable, baseline
    FROM judged
    WHERE max_sellable = 0 OR max_sellable < %(threshold)s * baseline
), near_limit AS (
    -- Truncation is monotonic, so a component at the minimum ratio truncates to the package's
    -- max_sellable: only the components that do (one or two per package, not all of them)
    -- pay the exact scale-40 ratio, the sort and the window below.
    SELECT pr.id AS package_id, p.id AS product_id, p.name AS product_name, pi.quantity,
           {exact_ratio} AS ratio
    FROM problems pr
    JOIN package_items pi ON pi.package_id = pr.id
    JOIN products p ON p.id = pi.product_id
    WHERE greatest(0, {whole_packages}) = pr.max_sellable
), limiting AS (
    -- The components at the minimum ratio, by (name, id): the bottleneck comes first.
    SELECT package_id,
           array_agg(product_id ORDER BY product_name COLLATE "C", product_id) AS ids,
           (array_agg(quantity ORDER BY product_name COLLATE "C", product_id))[1] AS quantity
    FROM (
        SELECT n.*, min(n.ratio) OVER (PARTITION BY n.package_id) AS lowest FROM near_limit n
    ) AS ranked
    WHERE ratio = lowest
    GROUP BY package_id
)
-- Two kinds of rows, each with the count: a problem package (the ids of its limiting
-- products), or a limiting product's details, once per product, however many packages it
-- limits. Nothing wrong: one row with the count alone.
SELECT * FROM (
    SELECT c.packages, pr.id AS package_id, pr.name AS package_name, pr.max_sellable,
           pr.baseline, l.ids, l.quantity,
           NULL::uuid, NULL::text, NULL::numeric, NULL::text, NULL::boolean
    FROM checked c
    LEFT JOIN (problems pr JOIN limiting l ON l.package_id = pr.id) ON true
    UNION ALL
    SELECT c.packages, NULL, NULL, NULL, NULL, NULL, NULL,
           p.id, p.name, p.current_stock, p.unit, p.is_active
    FROM checked c
    JOIN products p ON p.id IN (SELECT unnest(ids) FROM limiting)
) AS answer
ORDER BY package_name COLLATE "C", package_id
""")


@dataclass(frozen=True, slots=True)
class PackageIdRange:
    """The packages whose id lies in [first, last] (uuid order, as PostgreSQL compares them)."""

    first: UUID
    last: UUID


EVERY_PACKAGE = PackageIdRange(UUID(int=0), UUID(int=(1 << 128) - 1))


def split(id_range: PackageIdRange, share: Fraction) -> tuple[PackageIdRange, PackageIdRange]:
    """Two ranges that together hold exactly `id_range`, the first about `share` of them (0 < share
    < 1). Ids from gen_random_uuid() are spread evenly over the range; skewed ids only make
    the parts uneven, never wrong."""
    if not 0 < share < 1 or id_range.first >= id_range.last:
        raise ValueError(f"cannot split {id_range} at {share}")
    # Exact integers: the cut is at least `first` and below `last`, so both parts hold ids.
    cut = (
        id_range.first.int
        + (id_range.last.int - id_range.first.int) * share.numerator // share.denominator
    )
    return PackageIdRange(id_range.first, UUID(int=cut)), PackageIdRange(
        UUID(int=cut + 1), id_range.last
    )


@dataclass(frozen=True, slots=True)
class ProblemPackages:
    """The unavailable and low packages, by (name, id), how many packages were checked (active
    ones with components), and the details of the products limiting the problem packages:
    what their alerts say about them, read with them."""

    packages_checked: int
    packages: list[PackageAvailability]
    limiting_products: dict[UUID, ProductFigures]

    def __add__(self, other: ProblemPackages) -> ProblemPackages:
        """Both reads as one, for reads of disjoint ranges in one snapshot."""
        return ProblemPackages(
            packages_checked=self.packages_checked + other.packages_checked,
            packages=list(heapq.merge(self.packages, other.packages, key=_list_order)),
            limiting_products=self.limiting_products | other.limiting_products,
        )


def _list_order(item: PackageAvailability) -> tuple[str, UUID]:
    # COLLATE "C" orders by UTF-8 bytes, which is code point order, which is how Python
    # compares str; UUIDs compare as PostgreSQL's uuid does, byte by byte.
    return item.package_name, item.package_id


def _to_problem(row: Sequence[Any], products: Mapping[UUID, ProductFigures]) -> PackageAvailability:
    package_id, name, max_sellable, baseline, ids, quantity = row[1:7]
    sellable = int(max_sellable)
    first = products[ids[0]]
    return PackageAvailability(
        package_id=package_id,
        package_name=name,
        max_sellable=sellable,
        status=Status.UNAVAILABLE if sellable == 0 else Status.LOW_STOCK,
        baseline=None if baseline is None else int(baseline),
        bottleneck=Bottleneck(
            first.product_id, first.product_name, first.current_stock, quantity, first.is_active
        ),
        limiting_product_ids=tuple(ids),
    )


def _to_product(row: Sequence[Any]) -> ProductFigures:
    product_id, name, current_stock, unit, is_active = row
    return ProductFigures(product_id, name, current_stock, unit=unit, is_active=is_active)


def fetch_problem_packages(
    connection: psycopg.Connection[Any],
    threshold: Decimal,
    id_range: PackageIdRange = EVERY_PACKAGE,
) -> ProblemPackages:
    """Every active package in `id_range` whose status is unavailable or low_stock, in one round
    trip."""
    params = {"threshold": threshold, "first_id": id_range.first, "last_id": id_range.last}
    with connection.cursor(row_factory=psycopg.rows.tuple_row) as cursor:
        cursor.execute(_PROBLEMS_SQL, params)
        rows = cursor.fetchall()
    products = {row[7]: _to_product(row[7:]) for row in rows if row[7] is not None}
    return ProblemPackages(
        packages_checked=int(rows[0][0]) if rows else 0,
        packages=[_to_problem(row, products) for row in rows if row[1] is not None],
        limiting_products=products,
    )


_PRODUCT_DETAILS_SQL: LiteralString = """
SELECT id, name, current_stock, unit, is_active FROM products WHERE id = ANY(%(ids)s)
"""


def fetch_product_details(
    connection: psycopg.Connection[Any], product_ids: Collection[UUID]
) -> dict[UUID, ProductFigures]:
    """What alerts say about these products (one package's limiting ones), by id."""
    with connection.cursor(row_factory=psycopg.rows.tuple_row) as cursor:
        cursor.execute(_PRODUCT_DETAILS_SQL, {"ids": list(product_ids)})
        return {row[0]: _to_product(row) for row in cursor.fetchall()}
