"""POST /api/inventory/stock-movements and GET /api/inventory/products/{productId}/stock-movements
through the real handlers, PostgreSQL and moto's DynamoDB server."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from devtools.demo_data import load_demo, product_id
from tests.support.cart_requests import LIMES, MOJITO
from tests.support.events import (
    FakeLambdaContext,
    load_event,
    next_query,
    refused_fields,
    response_json,
)
from tests.support.pos_sales import answer, ledger_sum, sell, stock
from tests.support.stock_movements import ledger, ledger_page, move, write_request_ids

EVENT_CLIENT = "3n4b5urk1ft4fl3mg5e1a2b3c4"  # the events files' client_id
UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def bar(db: psycopg.Connection[Any], idempotency_table: str) -> psycopg.Connection[Any]:
    load_demo(db)
    return db


def limes(kind: str, quantity: Any, **more: Any) -> dict[str, Any]:
    return {"product_id": LIMES, "kind": kind, "quantity": quantity, **more}


def test_the_event_file_records_a_receipt_and_answers_the_ledger_row(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    event = load_event("stock_movement_create.json")
    body = json.loads(event["body"])
    from functions.stock_movement_create import app

    response = app.lambda_handler(event, lambda_context)

    assert response["statusCode"] == 201, response["body"]
    data = answer(response)["data"]
    (row,) = [r for r in ledger(bar, LIMES) if r.kind == "receipt"]
    (request_id,) = write_request_ids(bar)
    assert data["product_id"] == body["product_id"] == LIMES
    assert (data["kind"], data["quantity_delta"], data["stock_after"]) == ("receipt", 24, 33)
    assert data["reason"] == "delivery note 4711" == row.reason
    assert data["actor"] == EVENT_CLIENT == row.actor
    assert data["reference_id"] == str(request_id) == str(row.reference_id)
    assert data["version"] == row.seq
    assert data["created_at"].endswith("Z")
    assert stock(bar, LIMES) == Decimal(33) == ledger_sum(bar, LIMES)


@pytest.mark.parametrize(
    ("kind", "quantity", "delta", "after"),
    [
        ("receipt", Decimal("0.125"), Decimal("0.125"), Decimal("9.125")),
        ("waste", Decimal("2.5"), Decimal("-2.5"), Decimal("6.5")),
        ("correction", Decimal("-0.75"), Decimal("-0.75"), Decimal("8.25")),
        ("correction", 3, Decimal(3), Decimal(12)),
        ("count", Decimal("7.25"), Decimal("-1.75"), Decimal("7.25")),
        ("count", 0, Decimal(-9), Decimal(0)),
        ("count", Decimal("12.000000000000001"), Decimal("3.000000000000001"), None),
    ],
)
def test_each_kind_moves_the_stock_exactly_and_the_ledger_says_how(
    bar: psycopg.Connection[Any],
    lambda_context: FakeLambdaContext,
    kind: str,
    quantity: Any,
    delta: Decimal,
    after: Decimal | None,
) -> None:
    response = move(lambda_context, limes(kind, quantity))

    assert response["statusCode"] == 201, response["body"]
    data = json.loads(response["body"], parse_float=Decimal)["data"]
    expected_after = after if after is not None else Decimal(quantity)
    assert (data["kind"], data["quantity_delta"], data["stock_after"]) == (
        kind,
        delta,
        expected_after,
    )
    assert data["reason"] is None
    assert stock(bar, LIMES) == expected_after == ledger_sum(bar, LIMES)
    assert [r.kind for r in ledger(bar, LIMES)] == ["external", kind]


def test_a_count_that_finds_the_level_on_record_is_recorded_with_delta_zero(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    response = move(lambda_context, limes("count", 9, reason="Monday count"))

    assert response["statusCode"] == 201, response["body"]
    data = answer(response)["data"]
    assert (data["quantity_delta"], data["stock_after"]) == (0, 9)
    opening, counted = ledger(bar, LIMES)
    assert (counted.kind, counted.quantity_delta, counted.reason) == (
        "count",
        Decimal(0),
        "Monday count",
    )
    assert counted.seq > opening.seq
    assert stock(bar, LIMES) == Decimal(9)


def test_waste_beyond_the_stock_takes_it_below_zero(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    response = move(lambda_context, limes("waste", 10, reason="crate dropped"))

    assert response["statusCode"] == 201, response["body"]
    assert answer(response)["data"]["stock_after"] == -1
    assert stock(bar, LIMES) == Decimal(-1) == ledger_sum(bar, LIMES)


def test_a_switched_off_product_takes_movements(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    bar.execute("UPDATE products SET is_active = false WHERE id = %s", (LIMES,))

    response = move(lambda_context, limes("receipt", 5))

    assert response["statusCode"] == 201, response["body"]
    assert stock(bar, LIMES) == Decimal(14)


def test_a_retry_with_the_same_key_answers_the_first_movement_and_records_nothing_more(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    first = move(lambda_context, limes("receipt", 2), key="retry-me")
    # The same request written otherwise: 2.0 is 2, keys in another order.
    again = move(
        lambda_context,
        f'{{"quantity": 2.0, "kind": "receipt", "product_id": "{LIMES}"}}',
        key="retry-me",
    )

    assert first["statusCode"] == again["statusCode"] == 201, again["body"]
    assert answer(first) == answer(again)
    assert [r.kind for r in ledger(bar, LIMES)] == ["external", "receipt"]
    assert stock(bar, LIMES) == Decimal(11)
    assert len(write_request_ids(bar)) == 1


def test_a_movement_whose_dynamodb_record_was_lost_is_answered_from_postgresql(
    bar: psycopg.Connection[Any],
    lambda_context: FakeLambdaContext,
    idempotency_table: str,
    moto_endpoint: str,
) -> None:
    from tests.support.dynamo import dynamodb_client

    first = move(lambda_context, limes("waste", 1), key="lost-record")
    client = dynamodb_client(moto_endpoint)
    for item in client.scan(TableName=idempotency_table)["Items"]:
        client.delete_item(TableName=idempotency_table, Key={"id": item["id"]})
    again = move(lambda_context, limes("waste", 1), key="lost-record")
    other = move(lambda_context, limes("waste", 2), key="lost-record")

    assert again["statusCode"] == 201
    assert answer(again) == answer(first)
    assert other["statusCode"] == 422
    assert answer(other)["error"]["code"] == "idempotency_key_reused"
    assert stock(bar, LIMES) == Decimal(8)


def test_the_same_key_with_another_body_is_a_422_and_records_nothing(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    assert move(lambda_context, limes("receipt", 2), key="k")["statusCode"] == 201

    response = move(lambda_context, limes("receipt", 3), key="k")

    assert response["statusCode"] == 422
    error = answer(response)["error"]
    assert error["code"] == "idempotency_key_reused"
    assert refused_fields(error) == [("header", "Idempotency-Key")]
    assert stock(bar, LIMES) == Decimal(11)


def test_the_sale_and_the_movement_keep_their_keys_apart(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    sold = sell(lambda_context, {"items": [{"package_id": MOJITO, "quantity": 1}]}, key="shared")
    moved = move(lambda_context, limes("receipt", 1), key="shared")

    assert sold["statusCode"] == moved["statusCode"] == 201, moved["body"]
    assert stock(bar, LIMES) == Decimal("9.5")


@pytest.mark.parametrize("key", ["", " padded ", "x" * 256])
def test_a_missing_or_unusable_key_is_a_400_and_records_nothing(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext, key: str
) -> None:
    response = move(lambda_context, limes("receipt", 1), key=key)

    assert response["statusCode"] == 400
    error = answer(response)["error"]
    assert error["code"] == "malformed_request"
    assert refused_fields(error) == [("header", "Idempotency-Key")]
    assert len(ledger(bar, LIMES)) == 1


def test_an_unknown_product_is_a_422_naming_product_id_and_records_nothing(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    before = ledger(bar)
    body = {"product_id": UNKNOWN, "kind": "receipt", "quantity": 1}

    response = move(lambda_context, body, key="unknown")

    assert response["statusCode"] == 422
    error = answer(response)["error"]
    assert error["code"] == "unknown_items"
    assert refused_fields(error) == [("body", "/product_id")]
    assert ledger(bar) == before
    assert write_request_ids(bar) == []
    # Nothing was stored for the key either: once the product exists, the same request runs.
    bar.execute("INSERT INTO products (id, name) VALUES (%s, 'Late arrival')", (UNKNOWN,))
    assert move(lambda_context, body, key="unknown")["statusCode"] == 201


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (limes("sale", 1), 422, "/kind"),
        (limes("external", 1), 422, "/kind"),
        (limes("receipt", 0), 422, "/quantity"),
        (limes("receipt", -1), 422, "/quantity"),
        (limes("waste", 0), 422, "/quantity"),
        (limes("waste", Decimal("-0.5")), 422, "/quantity"),
        (limes("correction", 0), 422, "/quantity"),
        (limes("count", -1), 422, "/quantity"),
        (limes("receipt", 1_000_001), 422, "/quantity"),
        (limes("correction", -1_000_001), 422, "/quantity"),
        (limes("receipt", Decimal("0.1234567890123456")), 422, "/quantity"),
        (limes("receipt", "2"), 400, "/quantity"),
        (limes("receipt", True), 400, "/quantity"),
        (limes("receipt", None), 400, "/quantity"),
        (limes("receipt", 1, reason="x" * 501), 422, "/reason"),
        (limes("receipt", 1, reason="line\nbreak"), 422, "/reason"),
        (limes("receipt", 1, reason="   "), 422, "/reason"),
        (limes("receipt", 1, reason=""), 422, "/reason"),
        (limes("receipt", 1, reason=7), 400, "/reason"),
        (limes("receipt", 1, note="extra"), 400, "/note"),
        ({"product_id": LIMES, "kind": "receipt"}, 400, "/quantity"),
        ({"product_id": "limes", "kind": "receipt", "quantity": 1}, 400, "/product_id"),
        ({"product_id": LIMES, "kind": 1, "quantity": 1}, 400, "/kind"),
    ],
)
def test_a_refused_body_names_its_field_and_records_nothing(
    bar: psycopg.Connection[Any],
    lambda_context: FakeLambdaContext,
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    response = move(lambda_context, body)

    assert response["statusCode"] == status, response["body"]
    error = answer(response)["error"]
    assert error["code"] == ("malformed_request" if status == 400 else "validation_error")
    assert ("body", field) in refused_fields(error)
    assert len(ledger(bar, LIMES)) == 1
    assert write_request_ids(bar) == []
    assert stock(bar, LIMES) == Decimal(9)


def test_a_reason_with_a_lone_surrogate_is_refused_not_a_500(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    body = f'{{"product_id": "{LIMES}", "kind": "receipt", "quantity": 1, "reason": "\\ud800"}}'

    response = move(lambda_context, body)

    assert response["statusCode"] == 422, response["body"]
    assert refused_fields(answer(response)["error"]) == [("body", "/reason")]


# The list.


def test_the_ledger_is_listed_newest_first_in_pages_that_follow_the_link(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    path = f"/api/inventory/products/{LIMES}/stock-movements"
    for kind, quantity in (("receipt", 6), ("waste", 1), ("correction", -2), ("count", 10)):
        assert move(lambda_context, limes(kind, quantity))["statusCode"] == 201
    sold = answer(sell(lambda_context, {"items": [{"package_id": MOJITO, "quantity": 2}]}))

    pages: list[list[dict[str, Any]]] = []
    query: dict[str, str] | None = {"limit": "2"}
    while query is not None:
        response = ledger_page(lambda_context, LIMES, query)
        assert response["statusCode"] == 200, response["body"]
        pages.append(response_json(response)["data"])
        query = next_query(response, path)

    assert [len(p) for p in pages] == [2, 2, 2]
    rows = [row for page in pages for row in page]
    assert [r["kind"] for r in rows] == [
        "sale",
        "count",
        "correction",
        "waste",
        "receipt",
        "external",
    ]
    assert [r["version"] for r in rows] == sorted((r["version"] for r in rows), reverse=True)
    assert rows[0]["reference_id"] == sold["data"]["sale_id"]
    assert rows[0]["quantity_delta"] == -1  # two Mojitos, half a lime each
    assert rows[-1]["actor"].startswith("db:")
    assert rows[0]["stock_after"] == 9 == stock(bar, LIMES)


def test_a_movement_recorded_between_two_pages_neither_repeats_nor_hides_a_row(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    path = f"/api/inventory/products/{LIMES}/stock-movements"
    for quantity in (1, 2, 3):
        move(lambda_context, limes("receipt", quantity))
    first = ledger_page(lambda_context, LIMES, {"limit": "2"})
    move(lambda_context, limes("receipt", 4))
    query = next_query(first, path)
    assert query is not None
    second = ledger_page(lambda_context, LIMES, query)

    deltas = [r["quantity_delta"] for r in response_json(first)["data"]]
    deltas += [r["quantity_delta"] for r in response_json(second)["data"]]
    assert deltas == [3, 2, 1, 9]
    assert "Link" not in second["headers"]


def test_the_default_page_shows_everything_of_a_short_ledger_with_an_etag(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    response = ledger_page(lambda_context, LIMES)

    assert response["statusCode"] == 200, response["body"]
    (opening,) = response_json(response)["data"]
    assert (opening["kind"], opening["quantity_delta"], opening["stock_after"]) == (
        "external",
        9,
        9,
    )
    assert "Link" not in response["headers"]
    etag = response["headers"]["ETag"]
    unchanged = ledger_page(lambda_context, LIMES, headers={"If-None-Match": etag})
    assert unchanged["statusCode"] == 304
    move(lambda_context, limes("receipt", 1))
    changed = ledger_page(lambda_context, LIMES, headers={"If-None-Match": etag})
    assert changed["statusCode"] == 200


def test_an_unknown_product_is_a_404_and_a_product_without_movements_an_empty_page(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    missing = ledger_page(lambda_context, UNKNOWN)
    assert missing["statusCode"] == 404
    assert response_json(missing)["error"]["code"] == "not_found"

    bar.execute("INSERT INTO products (id, name) VALUES (%s, 'Nothing yet')", (UNKNOWN,))
    empty = ledger_page(lambda_context, UNKNOWN)
    assert empty["statusCode"] == 200
    assert response_json(empty)["data"] == []


def test_a_cursor_of_another_product_or_another_list_is_a_400(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    rum = str(product_id("White rum"))
    for _ in range(2):
        move(lambda_context, limes("receipt", 1))
    first = ledger_page(lambda_context, LIMES, {"limit": "1"})
    query = next_query(first, f"/api/inventory/products/{LIMES}/stock-movements")
    assert query is not None
    from inventory.services.cursors import encode
    from inventory.services.inbox import encode_cursor as inbox_cursor

    foreign = [
        query["after"],  # this ledger's, on another product
        inbox_cursor((bar.execute("SELECT now()").fetchone()[0], uuid.UUID(rum))),  # type: ignore[index]
        encode("99999999999999999999", uuid.UUID(rum)),  # beyond any seq
        encode("-1", uuid.UUID(rum)),
        "not-a-cursor",
    ]
    for after in foreign:
        response = ledger_page(lambda_context, rum, {"after": after})
        assert response["statusCode"] == 400, (after, response["body"])
        assert refused_fields(response_json(response)["error"]) == [("query", "after")]


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"limit": "0"}, 422, "limit"),
        ({"limit": "1001"}, 422, "limit"),
        ({"limit": "ten"}, 400, "limit"),
        ({"kind": "sale"}, 400, "kind"),
    ],
)
def test_a_refused_query_names_its_parameter(
    bar: psycopg.Connection[Any],
    lambda_context: FakeLambdaContext,
    query: dict[str, str],
    status: int,
    field: str,
) -> None:
    response = ledger_page(lambda_context, LIMES, query)

    assert response["statusCode"] == status, response["body"]
    assert refused_fields(response_json(response)["error"]) == [("query", field)]


def test_writes_that_bypass_the_api_are_external_rows_with_the_database_user(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    user = bar.execute("SELECT session_user").fetchone()[0]  # type: ignore[index]
    rum = product_id("White rum")
    bar.execute(
        "UPDATE products SET current_stock = current_stock + 1 WHERE id = ANY(%s)",
        ([uuid.UUID(LIMES), rum],),
    )
    new = uuid.uuid4()
    empty = uuid.uuid4()
    bar.execute(
        "INSERT INTO products (id, name, current_stock) VALUES (%s, 'Tonic', 12.5), (%s, 'Ice', 0)",
        (new, empty),
    )
    bar.execute("UPDATE products SET name = 'Limes (organic)' WHERE id = %s", (LIMES,))

    updated = ledger(bar, LIMES)[-1]
    assert (updated.kind, updated.quantity_delta, updated.stock_after) == (
        "external",
        Decimal(1),
        Decimal(10),
    )
    assert (updated.actor, updated.reason, updated.reference_id) == (f"db:{user}", None, None)
    assert ledger(bar, rum)[-1].kind == "external"
    (opening,) = ledger(bar, new)
    assert (opening.kind, opening.quantity_delta, opening.stock_after) == (
        "external",
        Decimal("12.5"),
        Decimal("12.5"),
    )
    assert ledger(bar, empty) == []  # nothing changed, nothing recorded
    assert len(ledger(bar, LIMES)) == 2  # a rename is no stock change
    listed = response_json(ledger_page(lambda_context, new))["data"]
    assert [(r["kind"], r["actor"]) for r in listed] == [("external", f"db:{user}")]


def test_a_movement_publishes_one_stock_changed_event_and_its_retry_none(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext, stock_bus: Any
) -> None:
    body = limes("receipt", 24)
    first = move(lambda_context, body, key="evented-receipt")
    assert first["statusCode"] == 201, first["body"]
    movement = answer(first)["data"]
    (event,) = stock_bus.arrived(expected=1)
    detail = event["detail"]
    assert (detail["cause"], detail["movement_id"], detail["sale_id"]) == (
        "receipt",
        movement["id"],
        None,
    )
    assert detail["products"] == [
        {"product_id": LIMES, "stock_after": 33, "version": movement["version"]}
    ]
    assert {MOJITO} <= {p["package_id"] for p in detail["packages"]}
    assert move(lambda_context, body, key="evented-receipt")["statusCode"] == 201
    assert stock_bus.arrived() == []
