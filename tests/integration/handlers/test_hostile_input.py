"""Input anyone can send: every case answers a 4xx envelope, never a 500 (issue 13, item 1),
and a body's numbers are read as the exact decimals sent (item 2, the input side)."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import psycopg
import pytest

from devtools.demo_data import load_demo
from functions.cart_validate import app as cart_validate
from functions.notifications_check import app as notifications_check
from functions.packages_availability import app as packages_availability
from tests.support.cart_requests import MOJITO, lines, validate
from tests.support.events import FakeLambdaContext, http_event, response_json

BODY_ROUTES = [
    (cart_validate, "cart_validate.json"),
    (notifications_check, "notifications_check_post.json"),
]
DEEP = '{"items": ' + "[" * 1_000 + "]" * 1_000 + "}"
LONG_NUMBER = '{"items": [{"package_id": "' + MOJITO + '", "quantity": ' + "9" * 5_001 + "}]}"


@pytest.fixture
def bar(db: psycopg.Connection[Any], cooldown_table: str) -> psycopg.Connection[Any]:
    load_demo(db)
    return db


def _send(module: Any, event_file: str, context: FakeLambdaContext, **event: Any) -> Any:
    return module.lambda_handler(http_event(event_file, **event), context)


def _error(response: dict[str, Any]) -> dict[str, Any]:
    body = response_json(response)
    assert body["success"] is False
    assert set(body["error"]) >= {"code", "message"}
    error: dict[str, Any] = body["error"]
    return error


@pytest.mark.parametrize(("module", "event_file"), BODY_ROUTES)
@pytest.mark.parametrize("body", [DEEP, LONG_NUMBER], ids=["nested-1000-deep", "5001-digits"])
def test_json_python_cannot_hold_is_a_400(
    bar: Any, lambda_context: FakeLambdaContext, module: Any, event_file: str, body: str
) -> None:
    response = _send(module, event_file, lambda_context, body=body)
    assert response["statusCode"] == 400
    assert _error(response)["code"] == "malformed_request"


@pytest.mark.parametrize(("module", "event_file"), BODY_ROUTES)
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain;charset=UTF-8",
        "application/vnd.api+json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ],
)
def test_a_body_that_is_not_application_json_is_a_415_that_echoes_nothing(
    bar: psycopg.Connection[Any],
    lambda_context: FakeLambdaContext,
    module: Any,
    event_file: str,
    content_type: str,
) -> None:
    secret = f"secret-{uuid.uuid4().hex}"
    body = '{"check_all": true}' if "json" in content_type else f"items={secret}"
    response = _send(
        module, event_file, lambda_context, body=body, headers={"content-type": content_type}
    )
    assert response["statusCode"] == 415
    assert _error(response)["code"] == "unsupported_media_type"
    assert secret not in response["body"]
    # Nothing ran: the manual check sent nothing.
    assert bar.execute("SELECT count(*) FROM notifications").fetchone() == (0,)


def test_json_with_a_charset_parameter_is_accepted(
    bar: Any, lambda_context: FakeLambdaContext
) -> None:
    response = validate(
        lambda_context,
        body=lines(("package_id", MOJITO, 1)),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response["statusCode"] == 200


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode("utf-8", "surrogatepass")).decode().rstrip("=")


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps(["\x00", str(uuid.uuid4())]),
        json.dumps(["\ud800", str(uuid.uuid4())]),
    ],
    ids=["nul", "lone-surrogate"],
)
def test_a_cursor_the_database_cannot_hold_is_a_400(
    bar: Any, lambda_context: FakeLambdaContext, raw: str
) -> None:
    response = packages_availability.lambda_handler(
        http_event("packages_availability.json", query={"after": _cursor(raw)}), lambda_context
    )
    assert response["statusCode"] == 400
    assert _error(response)["code"] == "malformed_request"
