"""GET /api/packages/availability in pages: the real handler, its event file and PostgreSQL.

A catalogue too large for one Lambda response is read with ?limit= and the Link header; the
pages together are exactly the whole list, whatever changes between two requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from devtools.demo_data import load_demo
from functions.packages_availability import app as packages_availability
from inventory.data.db import get_connection
from inventory.services import availability_pages
from inventory.services.availability_cache import availability_cache, package_list
from tests.support.catalog import component, insert_catalog, package
from tests.support.events import (
    FakeLambdaContext,
    http_event,
    next_query,
    refused_fields,
    response_json,
)
from tests.support.statements import counting_statements

PATH = "/api/packages/availability"


@pytest.fixture
def bar(db: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    load_demo(db)  # 17 active packages
    return db


def get(context: FakeLambdaContext, **query: str) -> dict[str, Any]:
    response: dict[str, Any] = packages_availability.lambda_handler(
        http_event("packages_availability.json", query=query), context
    )
    return response


def read_all_pages(context: FakeLambdaContext, limit: int) -> list[list[dict[str, Any]]]:
    pages = []
    query: dict[str, str] | None = {"limit": str(limit)}
    while query is not None:
        response = get(context, **query)
        assert response["statusCode"] == 200
        pages.append(response_json(response)["data"])
        query = next_query(response, PATH)
    return pages


def read_pages_then_whole(
    context: FakeLambdaContext, limit: int, *, whole_first: bool
) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]]]:
    """Pages cut from the cached whole list (whole_first) or read from PostgreSQL."""
    availability_cache().clear()
    if whole_first:
        whole = response_json(get(context))["data"]
        return read_all_pages(context, limit), whole
    pages = read_all_pages(context, limit)
    return pages, response_json(get(context))["data"]


@pytest.mark.parametrize("whole_first", [True, False], ids=["cut", "read"])
@pytest.mark.parametrize("limit", [1, 3, 5, 17, 18, 5000])
def test_pages_put_together_are_exactly_the_whole_list(
    bar: Any, lambda_context: FakeLambdaContext, limit: int, whole_first: bool
) -> None:
    pages, whole = read_pages_then_whole(lambda_context, limit, whole_first=whole_first)
    assert len(whole) == 17

    assert [item for page in pages for item in page] == whole
    assert all(len(page) == limit for page in pages[:-1])
    assert 1 <= len(pages[-1]) <= limit


def test_a_package_removed_between_two_pages_neither_repeats_nor_skips_the_others(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    first = get(lambda_context, limit="4")
    seen = response_json(first)["data"]
    # The last package of the first page goes away before the second page is asked for.
    bar.execute("UPDATE packages SET is_active = false WHERE id = %s", (seen[-1]["package_id"],))
    query = next_query(first, PATH)
    assert query is not None

    rest = []
    while query is not None:
        response = get(lambda_context, **query)
        rest += response_json(response)["data"]
        query = next_query(response, PATH)

    now_whole = response_json(get(lambda_context))["data"]
    assert [i["package_id"] for i in seen[:-1] + rest] == [i["package_id"] for i in now_whole]


def test_a_page_has_its_own_etag_and_answers_304(
    bar: Any, lambda_context: FakeLambdaContext
) -> None:
    page = get(lambda_context, limit="5")
    whole = get(lambda_context)
    assert page["headers"]["ETag"] != whole["headers"]["ETag"]

    again = packages_availability.lambda_handler(
        http_event(
            "packages_availability.json",
            query={"limit": "5"},
            headers={"If-None-Match": page["headers"]["ETag"]},
        ),
        lambda_context,
    )

    assert again["statusCode"] == 304
    assert again["headers"]["ETag"] == page["headers"]["ETag"]


def test_the_whole_list_without_paging_has_no_link(
    bar: Any, lambda_context: FakeLambdaContext
) -> None:
    response = get(lambda_context)
    assert response["statusCode"] == 200
    assert "Link" not in response["headers"]


def test_a_list_too_large_for_one_response_asks_the_client_to_page(
    bar: Any, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(availability_pages, "MAX_WHOLE_LIST_BYTES", 1_000)

    response = get(lambda_context)

    assert response["statusCode"] == 422
    error = response_json(response)["error"]
    assert error["code"] == "response_too_large"
    assert "17 active packages" in error["message"]
    assert "?limit=" in error["message"]
    assert get(lambda_context, limit="5")["statusCode"] == 200


def whole_list_bytes() -> int:
    """The whole list's JSON as the service answers it (the body's `data`), nothing left
    cached."""
    availability_cache().clear()
    size = len(package_list(get_connection()).representation)
    availability_cache().clear()
    return size


def get_counted(context: FakeLambdaContext) -> tuple[dict[str, Any], int]:
    """The unpaged list, nothing cached, and the statements the handler sent."""
    availability_cache().clear()
    with counting_statements(get_connection()) as counter:
        response = get(context)
    return response, counter.count


def test_a_list_that_cannot_fit_is_refused_by_one_count_before_anything_is_computed(
    bar: Any, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 17 packages cannot fit in 1,000 bytes whatever they hold: the count alone says so.
    monkeypatch.setattr(availability_pages, "MAX_WHOLE_LIST_BYTES", 1_000)

    response, statements = get_counted(lambda_context)

    assert response["statusCode"] == 422
    assert response_json(response)["success"] is False
    error = response_json(response)["error"]
    assert error["code"] == "response_too_large"
    assert "17 active packages" in error["message"]
    assert "?limit=" in error["message"]
    assert statements == 1  # the count, with the catalogue version: no availability read
    assert len(availability_cache()) == 0  # nothing computed, nothing kept


def test_a_list_the_count_lets_through_is_still_refused_by_its_bytes(
    bar: Any, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One byte short: the count cannot know (its bound is far below real items), the
    # computed list's own size refuses it.
    size = whole_list_bytes()
    monkeypatch.setattr(availability_pages, "MAX_WHOLE_LIST_BYTES", size - 1)

    response, statements = get_counted(lambda_context)

    assert response["statusCode"] == 422
    error = response_json(response)["error"]
    assert error["code"] == "response_too_large"
    assert f"17 active packages ({size:,} bytes of JSON)" in error["message"]
    assert "?limit=" in error["message"]
    assert statements == 2  # the count, then the list


def test_a_list_that_fits_to_the_byte_is_answered_whole(
    bar: Any, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(availability_pages, "MAX_WHOLE_LIST_BYTES", whole_list_bytes())

    response, statements = get_counted(lambda_context)

    assert response["statusCode"] == 200
    assert len(response_json(response)["data"]) == 17
    assert statements == 2  # the count (with the version), then the list


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"limit": "0"}, 422),  # a number, out of range
        ({"limit": "5001"}, 422),
        ({"limit": "many"}, 400),  # not a number at all
        ({"after": "not-a-cursor!"}, 400),
        ({"after": "W10"}, 400),  # base64 of "[]": valid JSON, not a cursor
        ({"after": "x" * 3000}, 422),  # longer than any cursor may be
    ],
)
def test_bad_paging_parameters_are_refused_naming_the_parameter(
    bar: Any, lambda_context: FakeLambdaContext, query: dict[str, str], status: int
) -> None:
    response = get(lambda_context, **query)

    assert response["statusCode"] == status
    error = response_json(response)["error"]
    assert error["code"] == ("malformed_request" if status == 400 else "validation_error")
    assert refused_fields(error) == [("query", *query)]


def root_locale_collation(db: psycopg.Connection[Any]) -> str:
    """ICU's root locale under the name this server has: "und-x-icu" where initdb imported
    ICU's locales (any build with ICU, e.g. Debian's 15), else "unicode" (16+). The embedded
    server is built without ICU: it defines "unicode" but cannot compare under it, so code
    that relied on the column's collation fails there as well."""
    names = {
        row[0]
        for row in db.execute(
            "SELECT collname FROM pg_collation WHERE collname IN ('und-x-icu', 'unicode')"
        ).fetchall()
    }
    assert names, "no ICU root-locale collation on this server"
    return "und-x-icu" if "und-x-icu" in names else "unicode"


def column_order_is_not_the_lists(db: psycopg.Connection[Any], names: list[str]) -> bool:
    """ORDER BY the column alone gives another order than the list's, or none at all (ICU's
    collation in a build without ICU)."""
    try:
        rows = db.execute("SELECT name FROM packages ORDER BY name").fetchall()
    except psycopg.errors.FeatureNotSupported:
        return True
    return [row[0] for row in rows] != sorted(names, key=lambda n: n.encode())


@pytest.fixture
def locale_sorted_names(db: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    """packages.name sorted by a locale (ICU's root locale), as on a production database, for
    one test; the test databases sort by code point (C.UTF-8), which would hide the case."""
    trigger = "packages_catalog_version_update"  # its WHEN clause names the column
    row = db.execute(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = %s", (trigger,)
    ).fetchone()
    assert row is not None
    definition = row[0]

    def collate(collation: str) -> None:
        with db.transaction():  # all or nothing: a failure leaves the trigger in place
            db.execute(f"DROP TRIGGER {trigger} ON packages")
            db.execute(f'ALTER TABLE packages ALTER COLUMN name TYPE text COLLATE "{collation}"')
            db.execute(definition)

    collate(root_locale_collation(db))
    try:
        yield db
    finally:
        db.execute("TRUNCATE packages CASCADE")
        collate("default")


@pytest.mark.parametrize("whole_first", [True, False], ids=["cut", "read"])
def test_pages_follow_the_list_order_even_where_the_column_collation_differs(
    locale_sorted_names: psycopg.Connection[Any],
    lambda_context: FakeLambdaContext,
    whole_first: bool,
) -> None:
    # The list and its pages both use COLLATE "C", so a cursor taken from one page must
    # continue in that order, not in the column's ("apple" before "Banana").
    db = locale_sorted_names
    names = ["apple", "Banana", "cherry", "Date", "éclair", "Zebra", "date"]
    insert_catalog(db, [package(name, [component("Lime", 1, 10)]) for name in names])
    assert column_order_is_not_the_lists(db, names)  # the case is really there

    pages, items = read_pages_then_whole(lambda_context, 2, whole_first=whole_first)
    whole = [i["package_name"] for i in items]

    assert whole == sorted(names, key=lambda n: n.encode())  # byte order, as COLLATE "C"
    assert [i["package_name"] for page in pages for i in page] == whole
