"""openapi.json: generated from the handlers, committed, and in step with template.yaml."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools.openapi import (
    OPENAPI_PATH,
    document_operations,
    generate,
    render,
    template_operations,
)
from devtools.template import load_template


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(OPENAPI_PATH.read_text())
    return document


def test_committed_document_equals_a_fresh_generation() -> None:
    fresh = render(generate())

    assert OPENAPI_PATH.read_text() == fresh, "openapi.json is stale: run `make openapi`"


def test_every_template_route_is_in_the_document(committed: dict[str, Any]) -> None:
    missing = template_operations(load_template()) - document_operations(committed)

    assert not missing, f"template routes missing from openapi.json: {sorted(missing)}"


def test_every_document_operation_is_a_template_route(committed: dict[str, Any]) -> None:
    extra = document_operations(committed) - template_operations(load_template())

    assert not extra, f"openapi.json operations with no template route: {sorted(extra)}"


def test_every_operation_documents_success_and_the_error_envelope(
    committed: dict[str, Any],
) -> None:
    envelope = "#/components/schemas/ErrorEnvelope"
    for path, operations in committed["paths"].items():
        for method, operation in operations.items():
            codes = operation["responses"]
            assert any(code.startswith("2") for code in codes), f"{method} {path}: no 2xx"
            for code in ("400", "422", "500", "503"):
                schema = codes[code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": envelope}, f"{method} {path} {code}"


def test_document_references_only_schemas_it_defines(committed: dict[str, Any]) -> None:
    text = json.dumps(committed)
    schemas = committed["components"]["schemas"]
    referenced = {part.split('"', 1)[0] for part in text.split('"#/components/schemas/')[1:]}

    assert referenced <= set(schemas)
    assert set(schemas) <= referenced, "unused schemas are pruned"


def test_each_operation_requires_the_scopes_the_template_gives_its_route(
    committed: dict[str, Any],
) -> None:
    for route in load_template().http_routes:
        operation = committed["paths"][route.path][route.method.lower()]
        if route.authorizer is None:
            continue
        assert operation["security"] == [{"inventoryOAuth": [scope]} for scope in route.scopes]
        assert {"401", "403"} <= set(operation["responses"]), route.route_key


def test_public_operations_say_so_and_the_cron_route_keeps_its_two_schemes(
    committed: dict[str, Any],
) -> None:
    assert committed["paths"]["/api/health"]["get"]["security"] == []
    cron = committed["paths"]["/api/cron/inventory-monitor"]["get"]
    assert cron["security"] == [{"cronBearer": []}, {"cronToken": []}]


def test_the_oauth2_scheme_offers_client_credentials_with_every_scope(
    committed: dict[str, Any],
) -> None:
    scheme = committed["components"]["securitySchemes"]["inventoryOAuth"]
    assert scheme["type"] == "oauth2"
    flow = scheme["flows"]["clientCredentials"]
    assert flow["tokenUrl"].endswith("/oauth2/token")
    used = {scope for route in load_template().http_routes for scope in route.scopes}
    assert used <= set(flow["scopes"])
    assert "inventory/sales.write" in flow["scopes"]
