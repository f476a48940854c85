"""`make run`'s local API enforces template.yaml's JWT authorizer as API Gateway does, in front
of the real handlers: 401 without a valid token, 403 without the route's scope, the handler's
own answer with it, and no token in any log line."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from devtools.local_api import LocalApiServer
from tests.support.forged_tokens import refused_tokens
from tests.support.local_api import CRON_TOKEN, issuer_for, lower_headers, request, token_for

READ = "inventory/availability.read"
MANAGE = "inventory/notifications.manage"
AVAILABILITY = "/api/packages/availability"
CLEAR = "/api/inventory/notifications/cooldowns?type=package_unavailable"


def _challenge(headers: dict[str, str]) -> str:
    return lower_headers(headers)["www-authenticate"]


def test_no_token_is_a_401_and_the_function_never_runs(
    local_api: LocalApiServer, invocations: list[str]
) -> None:
    status, headers, body = request(local_api.url + AVAILABILITY, token=None)
    assert (status, body) == (401, {"message": "Unauthorized"})
    assert _challenge(headers).startswith("Bearer")
    assert invocations == []


def test_every_bad_token_is_a_401_and_the_function_never_runs(
    local_api: LocalApiServer, invocations: list[str]
) -> None:
    answers = {
        name: request(local_api.url + AVAILABILITY, token=token)[::2]
        for name, token in refused_tokens(issuer_for(local_api.url), READ).items()
    }
    assert answers == {name: (401, {"message": "Unauthorized"}) for name in answers}
    assert {
        "expired",
        "wrong issuer",
        "wrong audience",
        "alg none",
        "signed by another key",
        "HS256 signed with the public key",
        "malformed",
    } <= set(answers)
    assert invocations == []


def test_a_valid_token_without_the_routes_scope_is_a_403(
    local_api: LocalApiServer, invocations: list[str]
) -> None:
    pos_token = token_for(local_api.url, (READ,))
    status, headers, body = request(local_api.url + CLEAR, method="DELETE", token=pos_token)
    assert (status, body) == (403, {"message": "Forbidden"})
    assert 'error="insufficient_scope"' in _challenge(headers)
    assert invocations == []


def test_a_valid_token_with_the_scope_gets_the_handlers_answer(
    local_api: LocalApiServer, invocations: list[str]
) -> None:
    status, _, body = request(local_api.url + AVAILABILITY, token=token_for(local_api.url, (READ,)))
    assert status == 200
    assert body["success"] is True
    assert invocations == ["PackagesAvailabilityFunction"]


def test_a_token_from_the_token_endpoint_is_accepted(local_api: LocalApiServer) -> None:
    import base64
    import urllib.request

    raw = base64.b64encode(b"local-pos-terminal:local-pos-secret").decode()
    prepared = urllib.request.Request(
        local_api.url + "/oauth2/token",
        data=b"grant_type=client_credentials&scope=inventory%2Favailability.read",
        method="POST",
        headers={
            "Authorization": f"Basic {raw}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(prepared, timeout=30) as response:
        answer = json.loads(response.read())
    assert answer["token_type"] == "Bearer"
    status, _, _ = request(local_api.url + AVAILABILITY, token=answer["access_token"])
    assert status == 200


def test_the_issuer_publishes_its_keys_and_discovery_document(local_api: LocalApiServer) -> None:
    status, _, jwks = request(local_api.url + "/.well-known/jwks.json", token=None)
    assert status == 200
    assert [key["kty"] for key in jwks["keys"]] == ["RSA"]
    assert "d" not in jwks["keys"][0]  # never the private part
    _, _, discovery = request(local_api.url + "/.well-known/openid-configuration", token=None)
    assert discovery["issuer"] == local_api.url
    assert discovery["jwks_uri"] == local_api.url + "/.well-known/jwks.json"


def test_public_routes_need_no_token(local_api: LocalApiServer) -> None:
    assert request(local_api.url + "/api/health", token=None)[0] == 200
    cron = request(
        local_api.url + "/api/cron/inventory-monitor",
        headers={"Authorization": f"Bearer {CRON_TOKEN}"},
    )
    assert cron[0] == 200


def test_no_log_line_holds_a_token(
    local_api: LocalApiServer, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    manager = token_for(local_api.url, (MANAGE,))
    pos = token_for(local_api.url, (READ,))
    assert request(local_api.url + CLEAR, method="DELETE", token=manager)[0] == 200
    assert request(local_api.url + CLEAR, method="DELETE", token=pos)[0] == 403
    forged = refused_tokens(issuer_for(local_api.url), MANAGE)
    for token in forged.values():
        request(local_api.url + CLEAR, method="DELETE", token=token)
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert "Cooldowns cleared" in logged  # the function's logs were captured
    for token in [manager, pos, *forged.values()]:
        assert token not in logged
        signature = token.split(".")[-1]
        assert not signature or signature not in logged  # not even the signature


def test_the_validated_claims_reach_the_handler_which_says_who_cleared(
    local_api: LocalApiServer,
) -> None:
    token = token_for(local_api.url, (MANAGE,), client_id="local-manager", sub="local-manager")
    status, _, body = request(local_api.url + CLEAR, method="DELETE", token=token)
    assert status == 200
    assert body["data"]["cleared_by"] == "local-manager"


NOTIFICATIONS_READ = "inventory/notifications.read"
INBOX = "/api/notifications"


def _stored_notification(db: psycopg.Connection[Any]) -> str:
    row = db.execute(
        "INSERT INTO notifications (type, priority, title, message, reference_type,"
        " reference_id) VALUES ('package_unavailable', 'urgent', 'Sold out', 'Sold out',"
        " 'package', gen_random_uuid()) RETURNING id"
    ).fetchone()
    assert row is not None
    return str(row[0])


def _post(url: str, token: str, body: bytes | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    status, _, answer = request(url, method="POST", body=body, headers=headers, token=token)
    return status, answer


def test_the_inbox_is_read_with_notifications_read_and_marked_with_notifications_manage(
    local_api: LocalApiServer, invocations: list[str], db: psycopg.Connection[Any]
) -> None:
    notification_id = _stored_notification(db)
    one = f"{local_api.url}{INBOX}/{notification_id}"
    mark = f"{one}/read"
    mark_many = f"{local_api.url}{INBOX}/read"
    before = b'{"before": "2100-01-01T00:00:00Z"}'
    reader = token_for(local_api.url, (NOTIFICATIONS_READ,))
    pos = token_for(local_api.url, (READ,))
    manager = token_for(local_api.url, (MANAGE,), client_id="local-manager", sub="local-manager")

    assert request(local_api.url + INBOX, token=None)[0] == 401
    assert request(local_api.url + INBOX, token=pos)[::2] == (403, {"message": "Forbidden"})
    assert request(one, token=pos)[0] == 403
    assert _post(mark, reader) == (403, {"message": "Forbidden"})
    assert _post(mark_many, reader, before) == (403, {"message": "Forbidden"})
    assert invocations == []

    status, _, listed = request(local_api.url + INBOX, token=reader)
    assert status == 200
    assert [item["id"] for item in listed["data"]] == [notification_id]
    assert request(one, token=reader)[0] == 200
    status, marked = _post(mark, manager)
    assert status == 200
    assert marked["data"]["read_by"] == "local-manager"  # from the validated claims
    assert _post(mark_many, manager, before) == (200, {"success": True, "data": {"marked": 0}})
    assert invocations == [
        "InboxListFunction",
        "InboxItemFunction",
        "InboxMarkOneFunction",
        "InboxMarkManyFunction",
    ]


def test_the_manager_client_may_read_and_mark_the_inbox() -> None:
    from devtools.local_issuer import LOCAL_CLIENTS

    assert {NOTIFICATIONS_READ, MANAGE} <= set(LOCAL_CLIENTS["local-manager"].scopes)
