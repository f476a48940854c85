"""POST /api/pos/cart/validate through the real handler, its event file and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from devtools.demo_data import load_demo, product_id
from functions.cart_validate import app as cart_validate
from tests.support.cart_requests import CUBA_LIBRE, LIMES, MOJITO, lines, validate
from tests.support.events import FakeLambdaContext, load_event, refused_fields, response_json


@pytest.fixture
def bar(db: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    load_demo(db)
    return db


def test_event_cart_sharing_rum_and_limes_is_valid(
    bar: Any, lambda_context: FakeLambdaContext
) -> None:
    response = cart_validate.lambda_handler(load_event("cart_validate.json"), lambda_context)
    assert response["statusCode"] == 200
    body = response_json(response)
    assert body["success"] is True
    data = body["data"]
    assert (data["valid"], data["shortages"]) == (True, [])
    assert [
        (item.get("package_name") or item["product_name"], item["quantity"], item["max_sellable"])
        for item in data["items"]
    ] == [
        ("Mojito", 2, 17),  # 9 limes - 0.25 for the Cuba Libre = 8.75: 17 Mojitos
        ("Cuba Libre", 1, 32),  # 9 - 1 for the Mojitos = 8: 32 Cuba Libres
        ("Cola 330ml", 2, 69),  # 70 cans - 1 for the Cuba Libre
    ]
    assert {item["status"] for item in data["items"]} == {"ok"}


def test_cart_short_on_a_shared_component_names_it_and_by_how_much(
    bar: Any, lambda_context: FakeLambdaContext
) -> None:
    body = lines(("package_id", MOJITO, 12), ("package_id", CUBA_LIBRE, 13))
    response = validate(lambda_context, body)
    assert response["statusCode"] == 200
    data = response_json(response)["data"]
    assert data["valid"] is False
    assert data["shortages"] == [
        {
            "product_id": LIMES,
            "product_name": "Limes",
            "required": 9.25,
            "available": 9,
            "shortfall": 0.25,
            "is_active": True,
            "current_stock": 9,
        }
    ]
    assert [(i["max_sellable"], i["status"]) for i in data["items"]] == [
        (11, "insufficient_stock"),
        (12, "insufficient_stock"),
    ]


def test_product_line_with_a_decimal_quantity_adds_to_package_demand(
    bar: Any, lambda_context: FakeLambdaContext
) -> None:
    body = lines(("package_id", MOJITO, 17), ("product_id", LIMES, 0.5))
    data = response_json(validate(lambda_context, body))["data"]
    assert data["valid"] is True  # 8.5 + 0.5 = 9 limes exactly
    body = lines(("package_id", MOJITO, 17), ("product_id", LIMES, 0.51))
    data = response_json(validate(lambda_context, body))["data"]
    assert data["valid"] is False
    assert data["shortages"][0]["shortfall"] == 0.01
    assert data["items"][1]["max_sellable"] == 0.5


def test_inactive_product_and_inactive_package_are_rejected(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    bar.execute("UPDATE packages SET is_active = false WHERE name = 'Cuba Libre'")
    body = lines(
        ("package_id", CUBA_LIBRE, 1), ("product_id", str(product_id("Seasonal cider")), 1)
    )
    data = response_json(validate(lambda_context, body))["data"]
    assert data["valid"] is False
    assert [(i["status"], i["max_sellable"]) for i in data["items"]] == [
        ("inactive", 0),
        ("inactive", 0),
    ]
    assert [(s["product_name"], s["available"]) for s in data["shortages"]] == [
        ("Seasonal cider", 0)
    ]


def test_unknown_ids_are_422_naming_each(bar: Any, lambda_context: FakeLambdaContext) -> None:
    ghost_package, ghost_product = uuid.uuid4(), uuid.uuid4()
    body = lines(
        ("package_id", MOJITO, 1),
        ("package_id", str(ghost_package), 1),
        ("product_id", str(ghost_product), 1),
    )
    response = validate(lambda_context, body)
    assert response["statusCode"] == 422
    error = response_json(response)["error"]
    assert error["code"] == "unknown_items"
    assert str(ghost_package) in error["message"]
    assert str(ghost_product) in error["message"]
    assert refused_fields(error) == [
        ("body", "/items/1/package_id"),
        ("body", "/items/2/product_id"),
    ]


def test_malformed_json_is_400(bar: Any, lambda_context: FakeLambdaContext) -> None:
    response = validate(lambda_context, '{"items": [')
    assert response["statusCode"] == 400
    body = response_json(response)
    assert body["success"] is False
    assert body["error"]["code"] == "malformed_request"


def test_missing_body_is_400(bar: Any, lambda_context: FakeLambdaContext) -> None:
    event = load_event("cart_validate.json")
    event.pop("body")
    response = cart_validate.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 400
    assert response_json(response)["error"]["message"] == "The request needs a JSON body."


@pytest.mark.parametrize("body", ["[null]", "[]", "42", '"items"', '[{"items": []}]'])
def test_body_that_is_not_a_json_object_is_rejected(
    bar: Any, lambda_context: FakeLambdaContext, body: str
) -> None:
    response = validate(lambda_context, body)
    assert response["statusCode"] == 400
    assert response_json(response)["error"]["code"] == "malformed_request"


def test_valid_cart_wrapped_in_a_list_is_400(bar: Any, lambda_context: FakeLambdaContext) -> None:
    # Powertools unwraps one-element lists while validating; the API still wants an object.
    body = json.dumps([lines(("package_id", MOJITO, 1))])
    response = validate(lambda_context, body)
    assert response["statusCode"] == 400
    assert response_json(response)["error"]["message"] == "The request body must be a JSON object."


def test_non_utf8_base64_body_is_400(bar: Any, lambda_context: FakeLambdaContext) -> None:
    response = validate(lambda_context, raw_body=b"\xff\xfe{\x00")
    assert response["statusCode"] == 400
    assert response_json(response)["error"]["code"] == "malformed_request"


MALFORMED, INVALID = 400, 422


@pytest.mark.parametrize(
    ("body", "status", "field", "mentions"),
    [
        ({}, MALFORMED, "/items", "required"),
        ({"items": []}, INVALID, "/items", "at least 1"),
        (lines(("package_id", MOJITO, 0)), INVALID, "/items/0/quantity", "greater than 0"),
        (lines(("package_id", MOJITO, 2.5)), INVALID, "/items/0/quantity", "integer"),
        (lines(("package_id", MOJITO, "2")), MALFORMED, "/items/0/quantity", "JSON number"),
        (lines(("product_id", LIMES, -1)), INVALID, "/items/0/quantity", "greater than 0"),
        (lines(("product_id", LIMES, True)), MALFORMED, "/items/0/quantity", "JSON number"),
        ({"items": [{"quantity": 1}]}, MALFORMED, "/items/0", "exactly one of package_id"),
        (
            {"items": [{"package_id": MOJITO, "product_id": LIMES, "quantity": 1}]},
            MALFORMED,
            "/items/0/product_id",
            "not permitted",
        ),
        (lines(("package_id", "not-a-uuid", 1)), MALFORMED, "/items/0/package_id", "UUID"),
        ({"items": [{"package_id": MOJITO, "quantity": 1}] * 201}, INVALID, "/items", "at most"),
        (
            {"items": [{"package_id": MOJITO, "quantity": 1}], "coupon": "x"},
            MALFORMED,
            "/coupon",
            "not permitted",
        ),
    ],
)
def test_schema_violations_name_the_field(
    bar: Any, lambda_context: FakeLambdaContext, body: Any, status: int, field: str, mentions: str
) -> None:
    response = validate(lambda_context, body)
    assert response["statusCode"] == status
    error = response_json(response)["error"]
    assert error["code"] == ("malformed_request" if status == MALFORMED else "validation_error")
    assert refused_fields(error) == [("body", field)]
    assert mentions in error["details"][0]["message"]


def test_quantities_come_back_as_json_numbers(bar: Any, lambda_context: FakeLambdaContext) -> None:
    data = response_json(validate(lambda_context, lines(("product_id", LIMES, 0.25))))["data"]
    item = data["items"][0]
    assert (item["quantity"], item["max_sellable"]) == (0.25, 9)
    assert Decimal(str(item["quantity"])) == Decimal("0.25")


def test_a_sale_between_the_two_reads_cannot_give_one_product_two_stocks(
    bar: Any, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 9 limes when the Mojito's recipe is read; a sale of 8 commits before the product line's
    # read. Both lines must then count with the same 1 lime: 0.5 + 1 needed, 1 available.
    from inventory.data import catalog

    read_specs = catalog.fetch_package_specs

    def then_a_sale(connection: Any, ids: Any) -> Any:
        specs = read_specs(connection, ids)
        bar.execute("UPDATE products SET current_stock = 1 WHERE id = %s", (LIMES,))
        return specs

    monkeypatch.setattr(catalog, "fetch_package_specs", then_a_sale)
    body = lines(("package_id", MOJITO, 1), ("product_id", LIMES, 1))

    data = response_json(validate(lambda_context, body))["data"]

    assert data["valid"] is False
    [shortage] = data["shortages"]
    assert (shortage["product_name"], shortage["available"]) == ("Limes", 1)
    assert shortage["required"] == 1.5
