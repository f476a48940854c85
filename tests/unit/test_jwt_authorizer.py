"""The local API's JWT authorizer (devtools/authorizer.py) decides as API Gateway's does."""

from __future__ import annotations

import json
import time
from functools import cache

import pytest
from joserfc.jwk import RSAKey

from devtools.authorizer import Allowed, Refused, authorize, bearer_token, event_authorizer, refusal
from devtools.local_issuer import LOCAL_CLIENTS, LocalIssuer, basic_auth
from tests.support.forged_tokens import refused_tokens

READ = "inventory/availability.read"
MANAGE = "inventory/notifications.manage"


@cache
def _issuer() -> LocalIssuer:
    key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)
    return LocalIssuer("http://127.0.0.1:3000", key)


def _decide(header: str | None, scopes: tuple[str, ...] = (READ,)) -> Allowed | Refused:
    return authorize(header, _issuer().authorizer_config(), scopes, time.time())


def test_a_valid_token_with_the_scope_is_allowed_with_its_claims_as_strings() -> None:
    token = _issuer().mint([READ], client_id="local-pos-terminal")
    decision = _decide(f"Bearer {token}")
    assert isinstance(decision, Allowed)
    assert decision.claims["client_id"] == "local-pos-terminal"
    assert decision.claims["exp"].isdigit()
    assert decision.scopes == (READ,)
    assert event_authorizer(decision)["jwt"]["scopes"] == [READ]


def test_the_token_may_come_without_the_bearer_prefix() -> None:
    token = _issuer().mint([READ], client_id="local-pos-terminal")
    assert isinstance(_decide(token), Allowed)
    assert bearer_token("bearer  abc ") == "abc"


def test_no_token_is_a_401_with_a_bare_bearer_challenge() -> None:
    decision = _decide(None)
    assert decision == Refused(401, "")
    status, headers, body = refusal(decision, (READ,))
    assert (status, json.loads(body)) == (401, {"message": "Unauthorized"})
    assert ("www-authenticate", "Bearer") in headers


@pytest.mark.parametrize("name", sorted(refused_tokens(_issuer(), READ)))
def test_a_bad_token_is_a_401_unauthorized(name: str) -> None:
    token = refused_tokens(_issuer(), READ)[name]
    decision = _decide(f"Bearer {token}")
    assert isinstance(decision, Refused), name
    assert decision.status == 401
    _, headers, body = refusal(decision, (READ,))
    assert json.loads(body) == {"message": "Unauthorized"}
    challenge = dict(headers)["www-authenticate"]
    assert 'error="invalid_token"' in challenge
    assert token not in challenge


def test_a_valid_token_without_the_routes_scope_is_a_403_forbidden() -> None:
    token = _issuer().mint([READ], client_id="local-pos-terminal")
    decision = _decide(f"Bearer {token}", scopes=(MANAGE,))
    assert isinstance(decision, Refused)
    status, headers, body = refusal(decision, (MANAGE,))
    assert (status, json.loads(body)) == (403, {"message": "Forbidden"})
    assert 'error="insufficient_scope"' in dict(headers)["www-authenticate"]


def test_one_of_the_routes_scopes_is_enough_and_scp_lists_count() -> None:
    token = _issuer().mint([], client_id="local-pos-terminal", extra={"scp": [MANAGE]})
    assert isinstance(_decide(f"Bearer {token}", scopes=(READ, MANAGE)), Allowed)


def test_a_route_without_scopes_needs_only_a_valid_token() -> None:
    token = _issuer().mint([], client_id="local-manager")
    assert isinstance(_decide(f"Bearer {token}", scopes=()), Allowed)


def test_aud_is_checked_before_client_id() -> None:
    good_aud = _issuer().mint([READ], client_id="nobody", extra={"aud": "local-manager"})
    assert isinstance(_decide(f"Bearer {good_aud}"), Allowed)


def test_the_token_endpoint_gives_a_client_its_scopes_and_refuses_others() -> None:
    issuer = _issuer()
    pos = LOCAL_CLIENTS["local-pos-terminal"]
    auth = [("Authorization", basic_auth(pos))]
    status, _, body = issuer.token_endpoint(auth, b"grant_type=client_credentials")
    answer = json.loads(body)
    assert status == 200
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 3600
    decision = _decide(f"Bearer {answer['access_token']}")
    assert isinstance(decision, Allowed)
    assert decision.claims["client_id"] == pos.client_id
    assert "aud" not in decision.claims  # as Cognito's client-credentials tokens
    wrong_scope = issuer.token_endpoint(
        auth, f"grant_type=client_credentials&scope={MANAGE}".encode()
    )
    assert (wrong_scope[0], json.loads(wrong_scope[2])) == (400, {"error": "invalid_scope"})
    bad_secret = [("Authorization", "Basic bG9jYWwtcG9zLXRlcm1pbmFsOndyb25n")]
    assert issuer.token_endpoint(bad_secret, b"grant_type=client_credentials")[0] == 401
    grant = issuer.token_endpoint(auth, b"grant_type=password")
    assert json.loads(grant[2]) == {"error": "unsupported_grant_type"}
