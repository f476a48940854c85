"""The three availability endpoints through their real handlers, events and PostgreSQL."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from functions.package_availability import app as package_availability
from functions.package_impact import app as package_impact
from functions.packages_availability import app as packages_availability
from tests.support.catalog import component, insert_catalog, package
from tests.support.events import (
    FakeLambdaContext,
    http_event,
    load_event,
    refused_fields,
    response_json,
)

CORONA = component("Corona", 5, 23, par=120)
ICE = component("Ice", "0.5", 100, par=80)
LIME = component("Lime", "0.25", 2, par=120)
BUCKET = package("Bucket of 5 Coronas", [CORONA, ICE])
CORONA_LIME = package("Corona & Lime", [component("Corona", 1, 23, par=120), LIME])
COMING_SOON = package("Tasting flight")
RETIRED = package("Retired combo", [ICE], active=False)


@pytest.fixture
def bar(db: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    insert_catalog(db, [BUCKET, CORONA_LIME, COMING_SOON, RETIRED])
    return db


def _body(response: dict[str, Any]) -> Any:
    assert response["headers"]["Content-Type"] == "application/json"
    return response_json(response)


def test_list_returns_every_active_package_in_name_order(
    bar: Any, lambda_context: FakeLambdaContext
) -> None:
    response = packages_availability.lambda_handler(
        load_event("packages_availability.json"), lambda_context
    )
    assert response["statusCode"] == 200
    body = _body(response)
    assert body["success"] is True
    names = [item["package_name"] for item in body["data"]]
    assert names == ["Bucket of 5 Coronas", "Corona & Lime", "Tasting flight"]
    bucket = body["data"][0]
    assert bucket == {
        "package_id": str(BUCKET.package_id),
        "package_name": "Bucket of 5 Coronas",
        "max_sellable": 4,
        "status": "low_stock",  # 4 < 0.2 x 24 (par 120 / 5 per bucket)
        "baseline": 24,
        "bottleneck": {
            "product_id": str(CORONA.product_id),
            "product_name": "Corona",
            "is_active": True,
            "current_stock": 23,
            "usable_stock": 23,
            "quantity_per_package": 5,
        },
        "limiting_product_ids": [str(CORONA.product_id)],
    }
    lime_pack = body["data"][1]
    assert (lime_pack["max_sellable"], lime_pack["status"]) == (8, "low_stock")
    assert lime_pack["bottleneck"]["quantity_per_package"] == 0.25
    assert body["data"][2]["status"] == "no_components"
    assert body["data"][2]["max_sellable"] is None


def test_list_of_an_empty_catalogue_is_empty(db: Any, lambda_context: FakeLambdaContext) -> None:
    response = packages_availability.lambda_handler(
        load_event("packages_availability.json"), lambda_context
    )
    assert response["statusCode"] == 200
    assert _body(response) == {"success": True, "data": []}


def test_one_package_answers_with_the_same_item_shape(
    bar: Any, lambda_context: FakeLambdaContext
) -> None:
    event = http_event(
        "package_availability.json", path_parameters={"packageId": str(BUCKET.package_id)}
    )
    response = package_availability.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 200
    data = _body(response)["data"]
    assert data["package_id"] == str(BUCKET.package_id)
    assert data["max_sellable"] == 4
    assert data["bottleneck"]["product_name"] == "Corona"


def test_one_inactive_package_is_reported_inactive(
    bar: Any, lambda_context: FakeLambdaContext
) -> None:
    event = http_event(
        "package_availability.json", path_parameters={"packageId": str(RETIRED.package_id)}
    )
    response = package_availability.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 200
    assert _body(response)["data"]["status"] == "inactive"


def test_unknown_package_is_404(bar: Any, lambda_context: FakeLambdaContext) -> None:
    missing = uuid.uuid4()
    event = http_event("package_availability.json", path_parameters={"packageId": str(missing)})
    response = package_availability.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 404
    assert _body(response) == {
        "success": False,
        "error": {
            "code": "not_found",
            "message": f"Package {missing} does not exist.",
            "details": [],
        },
    }


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "1234", "%00", "' OR 1=1 --"])
def test_malformed_package_id_is_400_with_a_clear_message(
    db: Any, lambda_context: FakeLambdaContext, bad_id: str
) -> None:
    event = http_event("package_availability.json", path_parameters={"packageId": bad_id})
    response = package_availability.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 400
    error = _body(response)["error"]
    assert error["code"] == "malformed_request"
    assert refused_fields(error) == [("path", "packageId")]
    assert "UUID" in error["details"][0]["message"]


def test_package_impact_lists_every_package_using_the_product(
    bar: Any, lambda_context: FakeLambdaContext
) -> None:
    event = http_event("package_impact.json", path_parameters={"productId": str(CORONA.product_id)})
    response = package_impact.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 200
    data = _body(response)["data"]
    assert data["product"]["name"] == "Corona"
    assert data["product"]["current_stock"] == 23
    usages = {u["package_name"]: u for u in data["packages"]}
    assert set(usages) == {"Bucket of 5 Coronas", "Corona & Lime"}
    assert usages["Bucket of 5 Coronas"]["quantity_per_package"] == 5
    assert usages["Bucket of 5 Coronas"]["is_limiting"] is True
    assert usages["Bucket of 5 Coronas"]["max_sellable"] == 4
    # Corona & Lime is limited by the lime (2 / 0.25 = 8 < 23), not by the beer.
    assert usages["Corona & Lime"]["is_limiting"] is False


def test_package_impact_includes_inactive_packages_flagged(
    bar: Any, lambda_context: FakeLambdaContext
) -> None:
    event = http_event("package_impact.json", path_parameters={"productId": str(ICE.product_id)})
    data = _body(package_impact.lambda_handler(event, lambda_context))["data"]
    retired = next(u for u in data["packages"] if u["package_name"] == "Retired combo")
    assert retired["is_active"] is False
    assert retired["status"] == "inactive"


def test_unknown_product_is_404(bar: Any, lambda_context: FakeLambdaContext) -> None:
    event = http_event("package_impact.json", path_parameters={"productId": str(uuid.uuid4())})
    response = package_impact.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 404
    assert _body(response)["error"]["code"] == "not_found"


def test_malformed_product_id_is_400(db: Any, lambda_context: FakeLambdaContext) -> None:
    event = http_event("package_impact.json", path_parameters={"productId": "abc"})
    response = package_impact.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 400
    assert refused_fields(_body(response)["error"]) == [("path", "productId")]


def test_database_down_is_503_without_internals(
    service_env: pytest.MonkeyPatch, lambda_context: FakeLambdaContext
) -> None:
    from tests.support.services import free_port

    secret_url = f"postgresql://admin:s3cret-password@127.0.0.1:{free_port()}/inventory"
    service_env.setenv("DATABASE_URL", secret_url)
    service_env.setenv("DB_CONNECT_TIMEOUT_SECONDS", "1")
    for handler, event in (
        (packages_availability.lambda_handler, load_event("packages_availability.json")),
        (package_availability.lambda_handler, load_event("package_availability.json")),
        (package_impact.lambda_handler, load_event("package_impact.json")),
    ):
        response = handler(event, lambda_context)
        assert response["statusCode"] == 503
        body = _body(response)
        assert body["success"] is False
        assert body["error"]["code"] == "dependency_unavailable"
        assert "s3cret" not in response["body"]
        assert "Traceback" not in response["body"]
        assert "127.0.0.1" not in response["body"]


def test_non_utf8_base64_body_does_not_crash_the_handler(
    bar: Any, lambda_context: FakeLambdaContext
) -> None:
    event = http_event("packages_availability.json", raw_body=b"\xff\xfe\x00garbage")
    response = packages_availability.lambda_handler(event, lambda_context)
    assert response["statusCode"] in (200, 400)
    assert "success" in _body(response)


def test_unknown_route_is_a_404_envelope(db: Any, lambda_context: FakeLambdaContext) -> None:
    event = load_event("packages_availability.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/api/nothing-here"
    response = packages_availability.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 404
    assert _body(response)["success"] is False


def test_ratio_ties_are_decided_beyond_sixteen_digits(
    db: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    # 1/3 and 0.3333333333333333 agree to 16 significant digits but are not equal:
    # only the smaller one limits the package.
    third = component("Third", 3, 1)
    almost = component("Almost a third", 1, Decimal("0.3333333333333333"))
    spec = package("Precise", [third, almost])
    insert_catalog(db, [spec])
    event = http_event(
        "package_availability.json", path_parameters={"packageId": str(spec.package_id)}
    )
    data = _body(package_availability.lambda_handler(event, lambda_context))["data"]
    assert data["limiting_product_ids"] == [str(almost.product_id)]


def test_malformed_database_url_is_a_configuration_error_that_never_logs_the_password(
    service_env: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # psycopg quotes the malformed part of a URL in its error: here, the password.
    service_env.setenv("DATABASE_URL", "postgresql://admin:se%zzcret@127.0.0.1:5432/db")
    response = packages_availability.lambda_handler(
        load_event("packages_availability.json"), lambda_context
    )
    assert response["statusCode"] == 500
    assert _body(response)["error"]["code"] == "configuration_error"
    captured = capsys.readouterr()
    for text in (response["body"], captured.out, captured.err):
        assert "se%zzcret" not in text
        assert "zzcret" not in text
