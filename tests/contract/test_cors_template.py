"""The HTTP API's CorsConfiguration lets a browser POS use every route and read its answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from devtools.cors import CorsPolicy
from devtools.run import local_parameters
from devtools.template import load_template

ROOT = Path(__file__).resolve().parents[2]


def _policy() -> CorsPolicy:
    policy = load_template().cors_policy()
    assert policy is not None, "template.yaml's HttpApi has no CorsConfiguration"
    return policy


def _operations() -> list[dict[str, Any]]:
    document = json.loads((ROOT / "openapi.json").read_text())
    return [
        operation
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "responses" in operation
    ]


def test_every_route_method_is_allowed() -> None:
    methods = {route.split(" ", 1)[0] for route in load_template().routes}

    assert methods <= set(_policy().allow_methods)


def test_the_headers_a_browser_sends_are_allowed() -> None:
    documented = {
        parameter["name"].lower()
        for operation in _operations()
        for parameter in operation.get("parameters", [])
        if parameter.get("in") == "header"
    }
    # The bearer token (cron, later the JWT authorizer), JSON bodies, the sales routes' key.
    sent = documented | {"authorization", "content-type", "idempotency-key"}

    assert sent <= {name.lower() for name in _policy().allow_headers}


def test_the_headers_a_browser_must_read_are_exposed() -> None:
    documented = {
        name.lower()
        for operation in _operations()
        for response in operation["responses"].values()
        for name in response.get("headers", {})
    }
    # Retry-After comes with every 503 (shared/inventory/http.py) and a busy idempotency key.
    needed = documented | {"etag", "link", "retry-after"}

    assert needed <= {name.lower() for name in _policy().expose_headers}


def test_make_run_takes_the_dev_origins_from_the_environment() -> None:
    parameters = local_parameters({"CORS_ALLOWED_ORIGINS": "http://localhost:5173"})

    policy = load_template().cors_policy(parameters)

    assert policy is not None
    assert policy.allow_origins == ("http://localhost:5173",)
    assert local_parameters({}) == {}
