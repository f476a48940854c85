"""Availability caching through the real handlers: ETag/304, and never stale after a commit.

"Another writer" is a plain psycopg connection of its own, as psql or the POS would be.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from functions.package_availability import app as package_availability
from functions.packages_availability import app as packages_availability
from inventory.data.db import get_connection
from inventory.services import availability_cache
from inventory.services.availability_cache import VersionedCache
from tests.support.catalog import component, insert_catalog, package
from tests.support.events import FakeLambdaContext, http_event, response_json
from tests.support.statements import counting_statements

CORONA = component("Corona", 5, 23, par=120)
ICE = component("Ice", "0.5", 100, par=80)
BUCKET = package("Bucket of 5 Coronas", [CORONA, ICE])
NACHOS = package("Nachos", [component("Nachos", 1, 26), component("Guacamole", 1, 12)])


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A fresh container cache on a clock the test moves."""
    fake = FakeClock()
    cache = VersionedCache(clock=fake)
    monkeypatch.setattr(availability_cache, "availability_cache", lambda: cache)
    return fake


@pytest.fixture
def bar(db: psycopg.Connection[Any], clock: FakeClock) -> psycopg.Connection[Any]:
    insert_catalog(db, [BUCKET, NACHOS])
    return db


@pytest.fixture
def writer(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """Another client of the database, committing only when told to."""
    with psycopg.connect(database_url) as connection:
        yield connection


def list_packages(context: FakeLambdaContext, if_none_match: str | None = None) -> dict[str, Any]:
    headers = {"If-None-Match": if_none_match} if if_none_match is not None else None
    response: dict[str, Any] = packages_availability.lambda_handler(
        http_event("packages_availability.json", headers=headers), context
    )
    return response


def one_package(context: FakeLambdaContext, if_none_match: str | None = None) -> dict[str, Any]:
    headers = {"If-None-Match": if_none_match} if if_none_match is not None else None
    event = http_event(
        "package_availability.json",
        path_parameters={"packageId": str(BUCKET.package_id)},
        headers=headers,
    )
    response: dict[str, Any] = package_availability.lambda_handler(event, context)
    return response


def buckets_sellable(response: dict[str, Any]) -> int:
    assert response["statusCode"] == 200
    items = {item["package_name"]: item for item in response_json(response)["data"]}
    return int(items["Bucket of 5 Coronas"]["max_sellable"])


def statements_of(call: Any) -> tuple[dict[str, Any], int]:
    with counting_statements(get_connection()) as counter:
        response = call()
    return response, counter.count


def test_unchanged_catalogue_is_served_from_the_cache_with_one_statement(
    bar: Any, lambda_context: FakeLambdaContext
) -> None:
    first = list_packages(lambda_context)
    second, statements = statements_of(lambda: list_packages(lambda_context))
    assert statements == 1
    assert second["body"] == first["body"]
    assert second["headers"]["ETag"] == first["headers"]["ETag"]


def test_stock_update_by_another_client_shows_in_the_very_next_response(
    bar: Any, writer: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    before = list_packages(lambda_context)
    assert buckets_sellable(before) == 4
    writer.execute("UPDATE products SET current_stock = 10 WHERE id = %s", (CORONA.product_id,))
    writer.commit()
    after = list_packages(lambda_context)
    assert buckets_sellable(after) == 2
    assert after["headers"]["ETag"] != before["headers"]["ETag"]


def test_composition_change_shows_in_the_next_response(
    bar: Any, writer: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    assert buckets_sellable(list_packages(lambda_context)) == 4
    writer.execute(
        "UPDATE package_items SET quantity = 2 WHERE package_id = %s AND product_id = %s",
        (BUCKET.package_id, CORONA.product_id),
    )
    writer.commit()
    assert buckets_sellable(list_packages(lambda_context)) == 11
    writer.execute("DELETE FROM package_items WHERE product_id = %s", (CORONA.product_id,))
    writer.commit()
    assert buckets_sellable(list_packages(lambda_context)) == 200  # ice only: 100 / 0.5


def test_activity_changes_show_in_the_next_response(
    bar: Any, writer: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    assert buckets_sellable(list_packages(lambda_context)) == 4
    writer.execute("UPDATE products SET is_active = false WHERE id = %s", (ICE.product_id,))
    writer.commit()
    assert buckets_sellable(list_packages(lambda_context)) == 0
    writer.execute("UPDATE packages SET is_active = false WHERE id = %s", (BUCKET.package_id,))
    writer.commit()
    names = [item["package_name"] for item in response_json(list_packages(lambda_context))["data"]]
    assert names == ["Nachos"]


def test_sales_rows_and_untracked_columns_keep_the_cache(
    bar: Any, writer: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    list_packages(lambda_context)
    writer.execute(
        "INSERT INTO order_items (package_id, quantity) VALUES (%s, 1)", (BUCKET.package_id,)
    )
    writer.execute("UPDATE products SET unit = 'bottle', current_stock = current_stock")
    writer.commit()
    _, statements = statements_of(lambda: list_packages(lambda_context))
    assert statements == 1


def test_ttl_expiry_recomputes_without_a_change(
    bar: Any, clock: FakeClock, lambda_context: FakeLambdaContext
) -> None:
    list_packages(lambda_context)
    clock.now += 299
    _, statements = statements_of(lambda: list_packages(lambda_context))
    assert statements == 1
    clock.now += 1  # AVAILABILITY_CACHE_TTL_SECONDS defaults to 300
    _, statements = statements_of(lambda: list_packages(lambda_context))
    assert statements == 2


def test_configured_ttl_is_honoured(
    bar: Any, clock: FakeClock, service_env: pytest.MonkeyPatch, lambda_context: FakeLambdaContext
) -> None:
    service_env.setenv("AVAILABILITY_CACHE_TTL_SECONDS", "5")
    list_packages(lambda_context)
    clock.now += 5
    _, statements = statements_of(lambda: list_packages(lambda_context))
    assert statements == 2


def test_matching_if_none_match_answers_304_without_a_body(
    bar: Any, lambda_context: FakeLambdaContext
) -> None:
    etag = list_packages(lambda_context)["headers"]["ETag"]
    for header in (etag, f"W/{etag}", f'"something-else", {etag}', "*"):
        response = list_packages(lambda_context, if_none_match=header)
        assert response["statusCode"] == 304, header
        assert not response["body"]
        assert response["headers"]["ETag"] == etag


def test_stale_if_none_match_gets_the_new_answer(
    bar: Any, writer: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    old = list_packages(lambda_context)["headers"]["ETag"]
    writer.execute("UPDATE products SET current_stock = 10 WHERE id = %s", (CORONA.product_id,))
    writer.commit()
    response = list_packages(lambda_context, if_none_match=old)
    assert response["statusCode"] == 200
    assert response["headers"]["ETag"] != old
    assert buckets_sellable(response) == 2


def test_one_package_has_its_own_etag_and_304(bar: Any, lambda_context: FakeLambdaContext) -> None:
    first = one_package(lambda_context)
    assert first["statusCode"] == 200
    assert response_json(first)["data"]["max_sellable"] == 4
    etag = first["headers"]["ETag"]
    assert etag != list_packages(lambda_context)["headers"]["ETag"]
    assert one_package(lambda_context, if_none_match=etag)["statusCode"] == 304


def test_change_elsewhere_keeps_a_package_etag_valid(
    bar: Any, writer: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    etag = one_package(lambda_context)["headers"]["ETag"]
    writer.execute("UPDATE products SET current_stock = 3 WHERE name = 'Guacamole'")
    writer.commit()
    # Recomputed (the version moved), but the bucket's representation is unchanged.
    assert one_package(lambda_context, if_none_match=etag)["statusCode"] == 304


def test_etag_is_the_same_from_a_cold_container(
    bar: Any, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    etag = list_packages(lambda_context)["headers"]["ETag"]
    cold = VersionedCache()
    monkeypatch.setattr(availability_cache, "availability_cache", lambda: cold)
    assert list_packages(lambda_context, if_none_match=etag)["statusCode"] == 304


def test_uncommitted_change_is_not_shown_and_does_not_poison_the_cache(
    bar: Any, writer: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    assert buckets_sellable(list_packages(lambda_context)) == 4
    writer.execute("UPDATE products SET current_stock = 5 WHERE id = %s", (CORONA.product_id,))
    assert buckets_sellable(list_packages(lambda_context)) == 4
    writer.rollback()
    response, statements = statements_of(lambda: list_packages(lambda_context))
    assert (buckets_sellable(response), statements) == (4, 1)


def test_change_committed_after_a_read_shows_in_the_next_response(
    bar: Any, writer: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    # A reader that trusted a number moved before commit (a sequence) would cache 4 here.
    writer.execute("UPDATE products SET current_stock = 5 WHERE id = %s", (CORONA.product_id,))
    assert buckets_sellable(list_packages(lambda_context)) == 4
    writer.commit()
    assert buckets_sellable(list_packages(lambda_context)) == 1


def _version(connection: psycopg.Connection[Any]) -> int:
    row = connection.execute("SELECT version FROM catalog_version").fetchone()
    assert row is not None
    return int(row[0])


def _wait_until_blocked(observer: psycopg.Connection[Any], pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        row = observer.execute(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
        ).fetchone()
        if row is not None and row[0] == "Lock":
            return
        time.sleep(0.01)
    raise AssertionError("the first transaction never waited for the second")


def test_crossing_stock_updates_of_two_transactions_do_not_deadlock(
    bar: psycopg.Connection[Any], database_url: str
) -> None:
    """T1 updates A, T2 updates B, T1 then waits for B: fine, unless a counter lock is held."""
    before = _version(bar)
    options = "-c lock_timeout=5s"
    with (
        psycopg.connect(database_url, options=options) as first,
        psycopg.connect(database_url, options=options) as second,
    ):
        first.execute("UPDATE products SET current_stock = 1 WHERE id = %s", (CORONA.product_id,))
        second.execute("UPDATE products SET current_stock = 2 WHERE id = %s", (ICE.product_id,))
        errors: list[psycopg.Error] = []

        def first_updates_the_row_second_holds() -> None:
            try:
                first.execute(
                    "UPDATE products SET current_stock = 3 WHERE id = %s", (ICE.product_id,)
                )
                first.commit()
            except psycopg.Error as error:  # a deadlock or lock timeout, asserted below
                errors.append(error)

        thread = threading.Thread(target=first_updates_the_row_second_holds)
        thread.start()
        _wait_until_blocked(bar, first.info.backend_pid)
        second.commit()
        thread.join(timeout=15)
        assert not thread.is_alive()
        assert errors == []
    assert _version(bar) == before + 2
