"""POST /api/pos/sales through the real handler, PostgreSQL and moto's DynamoDB server."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from devtools.demo_data import load_demo, package_id, product_id
from tests.support.cart_requests import CUBA_LIBRE, LIMES, MOJITO
from tests.support.events import FakeLambdaContext, load_event, refused_fields
from tests.support.pos_sales import answer, counts, ledger_sum, sell, stock

WHITE_RUM = product_id("White rum")


@pytest.fixture
def bar(db: psycopg.Connection[Any], idempotency_table: str) -> psycopg.Connection[Any]:
    load_demo(db)
    return db


def test_the_event_file_sells_and_the_ledger_records_each_component(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    limes_before, rum_before = stock(bar, LIMES), stock(bar, WHITE_RUM)
    event_body = json.loads(load_event("pos_sale.json")["body"])
    response = sell(lambda_context, event_body)
    assert response["statusCode"] == 201, response["body"]
    data = answer(response)["data"]
    deducted = {d["product_id"]: d for d in data["deducted"]}
    # 2 Mojitos (0.5 lime, 50 ml rum each) and a Cuba Libre (0.25 lime, 50 ml rum).
    assert Decimal(str(deducted[LIMES]["quantity"])) == Decimal("1.25")
    assert Decimal(str(deducted[LIMES]["stock_after"])) == limes_before - Decimal("1.25")
    assert stock(bar, LIMES) == limes_before - Decimal("1.25")
    assert stock(bar, WHITE_RUM) == rum_before - Decimal(deducted[str(WHITE_RUM)]["quantity"])
    assert data["order_id"] == event_body["order_id"]
    assert data["oversold"] is False
    assert counts(bar) == (1, 2, len(deducted))
    for product in (LIMES, WHITE_RUM):
        assert ledger_sum(bar, product) == stock(bar, product)
    names = [p["package_name"] for p in data["packages"]]
    assert {"Mojito", "Cuba Libre"} <= set(names)
    assert names == sorted(names)


def test_a_retry_with_the_same_key_answers_the_first_sale_and_sells_nothing_more(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    body = {"items": [{"package_id": MOJITO, "quantity": 1}]}
    first = sell(lambda_context, body, key="retry-me")
    second = sell(lambda_context, body, key="retry-me")
    assert first["statusCode"] == second["statusCode"] == 201
    assert answer(first) == answer(second)
    assert counts(bar)[0] == 1
    assert stock(bar, LIMES) == Decimal("8.5")


def test_the_same_key_with_another_body_is_a_422_and_sells_nothing(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    assert (
        sell(lambda_context, {"items": [{"package_id": MOJITO, "quantity": 1}]}, key="k")[
            "statusCode"
        ]
        == 201
    )
    response = sell(lambda_context, {"items": [{"package_id": MOJITO, "quantity": 2}]}, key="k")
    assert response["statusCode"] == 422
    assert answer(response)["error"]["code"] == "idempotency_key_reused"
    assert counts(bar)[0] == 1


@pytest.mark.parametrize("key", ["", " padded ", "x" * 256, "tab\there"])
def test_a_missing_or_unusable_key_is_a_400_and_sells_nothing(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext, key: str
) -> None:
    response = sell(lambda_context, {"items": [{"package_id": MOJITO, "quantity": 1}]}, key=key)
    assert response["statusCode"] == 400
    error = answer(response)["error"]
    assert error["code"] == "malformed_request"
    assert refused_fields(error) == [("header", "Idempotency-Key")]
    assert counts(bar) == (0, 0, 0)


def test_a_short_cart_is_a_409_with_its_shortages_and_writes_nothing(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    body = {
        "items": [
            {"package_id": MOJITO, "quantity": 12},
            {"package_id": CUBA_LIBRE, "quantity": 13},
        ]
    }
    response = sell(lambda_context, body)
    assert response["statusCode"] == 409
    error = answer(response)["error"]
    assert error["code"] == "insufficient_stock"
    assert [(s["product_id"], s["required"], s["available"]) for s in error["shortages"]] == [
        (LIMES, 9.25, 9)
    ]
    assert counts(bar) == (0, 0, 0)
    assert stock(bar, LIMES) == Decimal(9)


def test_allow_oversell_records_the_sale_and_the_stock_goes_negative(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    body = {"items": [{"package_id": MOJITO, "quantity": 20}], "allow_oversell": True}
    response = sell(lambda_context, body)
    assert response["statusCode"] == 201, response["body"]
    data = answer(response)["data"]
    assert data["oversold"] is True
    assert stock(bar, LIMES) == Decimal(-1)
    assert ledger_sum(bar, LIMES) == Decimal(-1)


def test_the_allow_oversell_setting_applies_unless_the_request_refuses(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext, service_env: Any
) -> None:
    service_env.setenv("ALLOW_OVERSELL", "true")
    from inventory.config import get_settings

    get_settings.cache_clear()
    short = {"items": [{"package_id": MOJITO, "quantity": 20}]}
    assert sell(lambda_context, {**short, "allow_oversell": False})["statusCode"] == 409
    assert sell(lambda_context, short)["statusCode"] == 201
    assert stock(bar, LIMES) == Decimal(-1)


def test_an_inactive_package_is_refused_and_an_unknown_id_is_a_422(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    bar.execute("UPDATE packages SET is_active = false WHERE id = %s", (package_id("Mojito"),))
    inactive = sell(lambda_context, {"items": [{"package_id": MOJITO, "quantity": 1}]})
    assert inactive["statusCode"] == 409
    assert answer(inactive)["error"]["code"] == "items_inactive"
    unknown = sell(
        lambda_context,
        {"items": [{"product_id": "00000000-0000-4000-8000-000000000000", "quantity": 1}]},
    )
    assert unknown["statusCode"] == 422
    assert answer(unknown)["error"]["code"] == "unknown_items"
    assert counts(bar) == (0, 0, 0)


def test_powertools_keeps_one_completed_record_per_key(
    bar: psycopg.Connection[Any],
    lambda_context: FakeLambdaContext,
    idempotency_table: str,
    moto_endpoint: str,
) -> None:
    from tests.support.dynamo import dynamodb_client

    body = {"items": [{"package_id": MOJITO, "quantity": 1}]}
    for _ in range(3):
        assert sell(lambda_context, body, key="one-record")["statusCode"] == 201
    items = dynamodb_client(moto_endpoint).scan(TableName=idempotency_table)["Items"]
    assert [(item["id"]["S"].split("#")[0], item["status"]["S"]) for item in items] == [
        ("sale", "COMPLETED")
    ]


def test_a_sale_whose_dynamodb_record_was_lost_is_answered_from_postgresql(
    bar: psycopg.Connection[Any],
    lambda_context: FakeLambdaContext,
    idempotency_table: str,
    moto_endpoint: str,
) -> None:
    """The function died between the commit and Powertools' record: the retry finds the
    committed sale and answers it again."""
    from tests.support.dynamo import dynamodb_client

    body = {"items": [{"package_id": MOJITO, "quantity": 1}]}
    first = sell(lambda_context, body, key="lost-record")
    client = dynamodb_client(moto_endpoint)
    for item in client.scan(TableName=idempotency_table)["Items"]:
        client.delete_item(TableName=idempotency_table, Key={"id": item["id"]})
    again = sell(lambda_context, body, key="lost-record")
    assert again["statusCode"] == 201
    assert answer(again) == answer(first)
    assert counts(bar)[0] == 1
    assert stock(bar, LIMES) == Decimal("8.5")


def test_dynamodb_down_is_a_503_and_sells_nothing(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext, service_env: Any
) -> None:
    from inventory.data.idempotency_records import persistence_layer
    from tests.support.services import free_port

    service_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{free_port()}")
    persistence_layer.cache_clear()
    response = sell(lambda_context, {"items": [{"package_id": MOJITO, "quantity": 1}]})
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "5"
    assert answer(response)["error"]["code"] == "dependency_unavailable"
    assert counts(bar) == (0, 0, 0)
    persistence_layer.cache_clear()


def test_a_sale_publishes_one_stock_changed_event_and_its_retry_none(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext, stock_bus: Any
) -> None:
    body = {"items": [{"package_id": MOJITO, "quantity": 1}]}
    first = answer(sell(lambda_context, body, key="evented"))["data"]
    (event,) = stock_bus.arrived(expected=1)
    assert (event["source"], event["detail-type"]) == ("inventory-automation", "stock.changed")
    detail = event["detail"]
    assert (detail["cause"], detail["sale_id"], detail["movement_id"]) == (
        "sale",
        first["sale_id"],
        None,
    )
    assert [(p["product_id"], p["stock_after"], p["version"]) for p in detail["products"]] == [
        (d["product_id"], d["stock_after"], d["version"]) for d in first["deducted"]
    ]
    assert [p["package_id"] for p in detail["packages"]] == [
        p["package_id"] for p in first["packages"]
    ]
    assert detail["packages_complete"] is True
    assert bar.execute(
        "SELECT count(*) FROM stock_events WHERE published_at IS NULL"
    ).fetchone() == (0,)
    sell(lambda_context, body, key="evented")
    assert stock_bus.arrived() == []


def test_a_retry_writing_the_same_numbers_and_instant_differently_is_the_same_sale(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    first = (
        f'{{"items": [{{"product_id": "{LIMES}", "quantity": 2}}],'
        ' "sold_at": "2026-12-01T10:00:00Z"}'
    )
    again = (
        '{"sold_at": "2026-12-01T11:00:00+01:00",'
        f' "items": [{{"quantity": 2.00, "product_id": "{LIMES}"}}]}}'
    )
    one = sell(lambda_context, first, key="written-twice")
    two = sell(lambda_context, again, key="written-twice")
    assert (one["statusCode"], two["statusCode"]) == (201, 201), two["body"]
    assert answer(one) == answer(two)
    assert stock(bar, LIMES) == Decimal(7)


@pytest.mark.parametrize(
    "cart",
    [
        [{"package_id": MOJITO, "quantity": 1}],
        [{"package_id": MOJITO, "quantity": 2}, {"package_id": CUBA_LIBRE, "quantity": 1}],
        [{"product_id": LIMES, "quantity": 0.1}],
        [{"product_id": str(WHITE_RUM), "quantity": 700}],
    ],
)
def test_the_answer_names_exactly_the_packages_whose_max_sellable_moved(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext, cart: list[Any]
) -> None:
    from inventory.config import get_settings
    from inventory.data.availability_sql import ACTIVE_PACKAGES, fetch_availability

    def sellable() -> dict[str, int | None]:
        threshold = get_settings().package_low_stock_threshold
        return {
            str(a.package_id): a.max_sellable
            for a in fetch_availability(bar, ACTIVE_PACKAGES, threshold)
        }

    before = sellable()
    response = sell(lambda_context, {"items": cart})
    assert response["statusCode"] == 201, response["body"]
    after = sellable()
    moved = {pid for pid in after if after[pid] != before[pid]}
    assert moved, "every cart here moves some package"
    packages = answer(response)["data"]["packages"]
    assert {p["package_id"] for p in packages} == moved
    assert all(p["max_sellable"] == after[p["package_id"]] for p in packages)


def test_a_sale_moving_more_packages_than_an_answer_names_is_answered_and_its_retry_too(
    db: psycopg.Connection[Any], idempotency_table: str, lambda_context: FakeLambdaContext
) -> None:
    """Its answer must fit Powertools' DynamoDB record (400 KB): named in full, about 980
    packages made the record's update fail after the commit, so the caller got a 503, never
    its 201. Past MAX_PACKAGES the answer names none."""
    from inventory.rules.stock_events import MAX_PACKAGES
    from tests.support.catalog import component, insert_catalog, package

    limit = component("Shared base", 1, 10_000)
    catalog = [
        package(f"Drink {n:04}", [limit, component(f"Garnish {n}", 1, 100_000)])
        for n in range(MAX_PACKAGES + 1)
    ]
    insert_catalog(db, catalog)
    body = {"items": [{"package_id": str(catalog[0].package_id), "quantity": 1}]}
    first = sell(lambda_context, body, key="many-moved")
    assert first["statusCode"] == 201, first["body"][:300]
    data = answer(first)["data"]
    assert (data["packages"], data["packages_complete"]) == ([], False)
    again = sell(lambda_context, body, key="many-moved")
    assert (again["statusCode"], answer(again)) == (201, answer(first))
    assert stock(db, limit.product_id) == Decimal(9_999)
