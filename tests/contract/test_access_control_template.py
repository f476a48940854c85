"""Every route of template.yaml is behind the JWT authorizer with its scopes (SPEC §8), except
the public routes listed here with the reason; a route added without a decision fails."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.template import load_template

AUTHORIZER = "InventoryJwt"

# Public routes, each with why it needs no token. Adding one is a decision: write it here.
PUBLIC_ROUTES = {
    # Uptime checks and load balancers call it anonymously; it says only up or down.
    "GET /api/health": "up/down only, no dependency details",
    # External schedulers send the cron token, checked in the handler in constant time
    # (SPEC §6); the EventBridge rule invokes the function directly.
    "GET /api/cron/inventory-monitor": "its own cron token",
}

# The scopes each protected route requires (SPEC §8).
ROUTE_SCOPES = {
    "GET /api/packages/availability": ("inventory/availability.read",),
    "GET /api/packages/{packageId}/availability": ("inventory/availability.read",),
    "GET /api/inventory/package-impact/{productId}": ("inventory/availability.read",),
    "POST /api/pos/cart/validate": ("inventory/availability.read",),
    "GET /api/inventory/notifications/check": ("inventory/notifications.read",),
    "POST /api/inventory/notifications/check": ("inventory/notifications.manage",),
    "DELETE /api/inventory/notifications/cooldowns": ("inventory/notifications.manage",),
    "GET /api/notifications": ("inventory/notifications.read",),
    "GET /api/notifications/{notificationId}": ("inventory/notifications.read",),
    "GET /api/notifications/{notificationId}/deliveries": ("inventory/notifications.read",),
    "POST /api/notifications/{notificationId}/read": ("inventory/notifications.manage",),
    "POST /api/notifications/read": ("inventory/notifications.manage",),
    # Subscriptions (SPEC §10): read with notifications.read, changed with .manage.
    "GET /api/notification-subscriptions": ("inventory/notifications.read",),
    "POST /api/notification-subscriptions": ("inventory/notifications.manage",),
    "GET /api/notification-subscriptions/{subscriptionId}": ("inventory/notifications.read",),
    "PATCH /api/notification-subscriptions/{subscriptionId}": ("inventory/notifications.manage",),
    "DELETE /api/notification-subscriptions/{subscriptionId}": ("inventory/notifications.manage",),
    "POST /api/notification-subscriptions/{subscriptionId}/rotate-secret": (
        "inventory/notifications.manage",
    ),
    # Sales and stock movements (SPEC §11): the POS terminals' writes.
    "POST /api/pos/sales": ("inventory/sales.write",),
    "POST /api/inventory/stock-movements": ("inventory/sales.write",),
    "GET /api/inventory/products/{productId}/stock-movements": ("inventory/sales.write",),
}

RESOURCE_SERVER_SCOPES = {
    "inventory/availability.read",
    "inventory/notifications.read",
    "inventory/notifications.manage",
    "inventory/sales.write",
}


def _resources() -> dict[str, Any]:
    return dict(load_template().raw["Resources"])


def _cognito(kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in _resources().items()
        if resource["Type"] == f"AWS::Cognito::{kind}"
    }


def test_every_route_is_either_protected_or_listed_as_public() -> None:
    routes = {route.route_key for route in load_template().http_routes}
    undecided = routes - set(PUBLIC_ROUTES) - set(ROUTE_SCOPES)
    assert not undecided, (
        f"routes without an access decision (ROUTE_SCOPES or PUBLIC_ROUTES): {undecided}"
    )
    assert set(PUBLIC_ROUTES) | set(ROUTE_SCOPES) <= routes, "a listed route is gone"
    assert not set(PUBLIC_ROUTES) & set(ROUTE_SCOPES)


@pytest.mark.parametrize("route_key", sorted(ROUTE_SCOPES))
def test_protected_route_has_the_authorizer_and_its_scopes(route_key: str) -> None:
    (route,) = [r for r in load_template().http_routes if r.route_key == route_key]
    assert route.authorizer == AUTHORIZER
    assert route.scopes == ROUTE_SCOPES[route_key]


@pytest.mark.parametrize("route_key", sorted(PUBLIC_ROUTES))
def test_public_route_says_so_explicitly(route_key: str) -> None:
    """`Authorizer: NONE` on the event, not the absence of a default authorizer."""
    (route,) = [r for r in load_template().http_routes if r.route_key == route_key]
    assert route.authorizer is None
    method, path = route_key.split(" ", 1)
    events = [
        event["Properties"]
        for resource in _resources().values()
        for event in (resource.get("Properties", {}).get("Events") or {}).values()
        if event.get("Type") == "HttpApi"
        and event["Properties"].get("Path") == path
        and event["Properties"].get("Method", "").upper() == method
    ]
    assert [event["Auth"]["Authorizer"] for event in events] == ["NONE"]


def test_the_api_defaults_to_a_jwt_authorizer_reading_the_authorization_header() -> None:
    template = load_template()
    api = next(r for r in _resources().values() if r["Type"] == "AWS::Serverless::HttpApi")
    assert api["Properties"]["Auth"]["DefaultAuthorizer"] == AUTHORIZER
    authorizer = template.jwt_authorizers()[AUTHORIZER]
    assert authorizer.identity_source == "$request.header.Authorization"
    # The stack's pool unless ExternalIssuerUrl names another issuer.
    assert authorizer.issuer["Fn::If"][0] == "UseExternalIssuer"
    assert authorizer.issuer["Fn::If"][1] == {"Ref": "ExternalIssuerUrl"}
    assert "cognito-idp" in authorizer.issuer["Fn::If"][2]["Fn::Sub"]
    # Cognito's client-credentials tokens carry the app client id in client_id, not aud.
    assert authorizer.audience["Fn::If"][1] == {"Ref": "ExternalAudience"}
    assert authorizer.audience["Fn::If"][2] == [{"Ref": "PosClient"}, {"Ref": "ManagerClient"}]
    parameters = template.raw["Parameters"]
    assert parameters["ExternalIssuerUrl"]["Default"] == ""
    assert parameters["ExternalAudience"]["Default"] == ""


def test_cognito_resources_exist_only_without_an_external_issuer() -> None:
    resources = [
        resource
        for resource in _resources().values()
        if resource["Type"].startswith("AWS::Cognito::")
    ]
    assert len(resources) >= 5
    assert {resource.get("Condition") for resource in resources} == {"CreateUserPool"}
    conditions = load_template().raw["Conditions"]
    assert conditions["CreateUserPool"] == {"Fn::Equals": [{"Ref": "ExternalIssuerUrl"}, ""]}


def test_the_resource_server_declares_every_scope_a_route_needs() -> None:
    (server,) = _cognito("UserPoolResourceServer").values()
    identifier = server["Properties"]["Identifier"]
    declared = {f"{identifier}/{s['ScopeName']}" for s in server["Properties"]["Scopes"]}
    assert declared == RESOURCE_SERVER_SCOPES
    used = {scope for route in load_template().http_routes for scope in route.scopes}
    assert used <= declared


def test_app_clients_use_client_credentials_with_a_secret_and_known_scopes() -> None:
    clients = _cognito("UserPoolClient")
    assert {"PosClient", "ManagerClient"} <= set(clients)
    for client in clients.values():
        properties = client["Properties"]
        assert properties["AllowedOAuthFlows"] == ["client_credentials"]
        assert properties["GenerateSecret"] is True
        assert properties["AllowedOAuthFlowsUserPoolClient"] is True
        assert set(properties["AllowedOAuthScopes"]) <= RESOURCE_SERVER_SCOPES
        assert client["DependsOn"] == "ApiResourceServer"
    # Terminals sell; the back office also records deliveries, waste and counts (SPEC §11).
    assert clients["PosClient"]["Properties"]["AllowedOAuthScopes"] == [
        "inventory/availability.read",
        "inventory/sales.write",
    ]
    assert set(clients["ManagerClient"]["Properties"]["AllowedOAuthScopes"]) == {
        "inventory/notifications.read",
        "inventory/notifications.manage",
        "inventory/sales.write",
    }


def test_the_local_clients_have_the_scopes_of_the_app_clients_they_stand_for() -> None:
    # `make run`'s terminal sells through the API with the PosClient's scopes (its demo sales).
    from devtools.local_issuer import LOCAL_CLIENTS

    clients = _cognito("UserPoolClient")
    stands_for = {"local-pos-terminal": "PosClient", "local-manager": "ManagerClient"}
    assert set(stands_for) == set(LOCAL_CLIENTS)
    for local, app_client in stands_for.items():
        template_scopes = clients[app_client]["Properties"]["AllowedOAuthScopes"]
        assert set(LOCAL_CLIENTS[local].scopes) == set(template_scopes), local


def test_outputs_give_the_token_endpoint_and_client_ids_but_never_a_secret() -> None:
    outputs = load_template().raw["Outputs"]
    assert "/oauth2/token" in outputs["TokenEndpoint"]["Value"]["Fn::Sub"]
    assert outputs["PosClientId"]["Value"] == {"Ref": "PosClient"}
    assert outputs["ManagerClientId"]["Value"] == {"Ref": "ManagerClient"}
    assert "ClientSecret" not in repr([output["Value"] for output in outputs.values()])


def test_an_external_issuer_cannot_be_deployed_without_an_audience() -> None:
    # Without one, the authorizer's audience would be [""] and refuse every token.
    from tests.support.dynamo import load_template as load_raw_template

    rule = load_raw_template()["Rules"]["ExternalIssuerNeedsAudience"]
    assert rule["RuleCondition"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ExternalIssuerUrl"}, ""]}]
    }
    [assertion] = rule["Assertions"]
    assert assertion["Assert"] == {"Fn::Not": [{"Fn::Contains": [{"Ref": "ExternalAudience"}, ""]}]}
