"""The SQL availability paths agree with the oracle (and so with the pure path)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.data.availability_sql import (
    ACTIVE_PACKAGES,
    EVERY_PACKAGE,
    PackageIdRange,
    active_page,
    fetch_availability,
    fetch_problem_packages,
    measure_list,
    package_by_id,
)
from inventory.models.availability import AvailabilityItem
from inventory.rules.availability import PackageSpec
from inventory.services.availability_pages import (
    Page,
    decode_cursor,
    encode_cursor,
    least_list_bytes,
)
from tests.support.catalog import insert_catalog
from tests.support.oracle import assert_matches, expected_availability
from tests.support.strategies import catalogs, thresholds


@settings(max_examples=1500)
@given(catalog=catalogs(), threshold=thresholds)
def test_sql_path_matches_the_oracle(
    db: psycopg.Connection[Any], catalog: list[PackageSpec], threshold: Decimal
) -> None:
    # The example's rows are rolled back whatever happens.
    with db.transaction(force_rollback=True):
        insert_catalog(db, catalog)
        active = fetch_availability(db, ACTIVE_PACKAGES, threshold)
        by_id = {spec.package_id: spec for spec in catalog}
        assert [a.package_id for a in active] == [
            s.package_id
            for s in sorted(catalog, key=lambda s: (s.package_name, str(s.package_id)))
            if s.is_active
        ]
        for actual in active:
            assert_matches(actual, expected_availability(by_id[actual.package_id], threshold))
        for spec in catalog:
            if not spec.is_active:
                (single,) = fetch_availability(db, package_by_id(spec.package_id), threshold)
                assert single.status == "inactive"
                assert single.max_sellable == expected_availability(spec, threshold).max_sellable


@settings(max_examples=1000)
@given(catalog=catalogs(), threshold=thresholds)
def test_monitor_query_returns_exactly_the_unavailable_and_low_packages_of_the_oracle(
    db: psycopg.Connection[Any], catalog: list[PackageSpec], threshold: Decimal
) -> None:
    # The example's rows are rolled back whatever happens.
    with db.transaction(force_rollback=True):
        insert_catalog(db, catalog)
        problems = fetch_problem_packages(db, threshold)
        expected = {
            spec.package_id: expected_availability(spec, threshold)
            for spec in catalog
            if spec.is_active
        }
        assert problems.packages_checked == sum(
            1 for e in expected.values() if e.status != "no_components"
        )
        wanted = [
            s.package_id
            for s in sorted(catalog, key=lambda s: (s.package_name, str(s.package_id)))
            if s.package_id in expected
            and expected[s.package_id].status in ("unavailable", "low_stock")
        ]
        assert [p.package_id for p in problems.packages] == wanted
        full = {a.package_id: a for a in fetch_availability(db, ACTIVE_PACKAGES, threshold)}
        for actual in problems.packages:
            oracle = expected[actual.package_id]
            assert actual.status == oracle.status
            assert actual.max_sellable == oracle.max_sellable
            assert actual.baseline == oracle.baseline
            assert actual.limiting_product_ids == oracle.limiting_ids
            # Field for field what the endpoints' path gives (names, stock, quantity).
            assert actual == full[actual.package_id]
        # What the alerts say about the limiting products, and nothing about the others.
        components = {c.product_id: c for spec in catalog for c in spec.components}
        assert set(problems.limiting_products) == {
            p for a in problems.packages for p in a.limiting_product_ids
        }
        for product_id, details in problems.limiting_products.items():
            known = components[product_id]
            assert (details.product_id, details.product_name) == (
                product_id,
                known.product_name,
            )
            assert (details.current_stock, details.is_active) == (
                known.current_stock,
                known.is_active,
            )
            assert details.unit == "unit"  # the column's default


@settings(max_examples=300)
@given(catalog=catalogs(), threshold=thresholds, cut=st.integers(0, 8))
def test_the_problems_of_two_id_ranges_join_into_those_of_the_whole(
    db: psycopg.Connection[Any], catalog: list[PackageSpec], threshold: Decimal, cut: int
) -> None:
    # The example's rows are rolled back whatever happens.
    with db.transaction(force_rollback=True):
        insert_catalog(db, catalog)
        whole = fetch_problem_packages(db, threshold)
        # The catalogue's package ids are 1..6: every cut from none below to all below.
        lower = PackageIdRange(EVERY_PACKAGE.first, UUID(int=cut))
        upper = PackageIdRange(UUID(int=cut + 1), EVERY_PACKAGE.last)

        joined = fetch_problem_packages(db, threshold, lower) + fetch_problem_packages(
            db, threshold, upper
        )

        assert joined == whole


@settings(max_examples=300)
@given(catalog=catalogs(), threshold=thresholds, size=st.integers(1, 7))
def test_pages_read_one_by_one_are_the_whole_list(
    db: psycopg.Connection[Any], catalog: list[PackageSpec], threshold: Decimal, size: int
) -> None:
    # The example's rows are rolled back whatever happens.
    with db.transaction(force_rollback=True):
        insert_catalog(db, catalog)
        whole = fetch_availability(db, ACTIVE_PACKAGES, threshold)
        paged: list[Any] = []
        after = None
        for _ in range(len(catalog) + 1):
            rows = fetch_availability(db, active_page(after, size + 1), threshold)
            paged += rows[:size]
            if len(rows) <= size:
                break
            # What the client sends back: the cursor of the page's last package.
            last = rows[size - 1]
            after = decode_cursor(encode_cursor((last.package_name, last.package_id)))
        assert paged == whole


@settings(max_examples=300)
@given(catalog=catalogs(), threshold=thresholds)
def test_the_count_measures_exactly_the_packages_of_the_list(
    db: psycopg.Connection[Any], catalog: list[PackageSpec], threshold: Decimal
) -> None:
    # Inactive packages, packages without components: the count's filter is the list's own.
    with db.transaction(force_rollback=True):
        insert_catalog(db, catalog)
        extent = measure_list(db, ACTIVE_PACKAGES)
        whole = fetch_availability(db, ACTIVE_PACKAGES, threshold)
        row = db.execute("SELECT version FROM catalog_version").fetchone()
    body = Page.of([AvailabilityItem.of(a) for a in whole], more=False).body

    assert row is not None
    assert extent.version == row[0]
    assert extent.packages == len(whole)
    assert extent.name_bytes == sum(len(a.package_name.encode()) for a in whole)
    assert least_list_bytes(extent.packages, extent.name_bytes) <= len(body)
