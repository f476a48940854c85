"""Who made a request, read from the claims API Gateway's authorizer put in the event."""

from __future__ import annotations

from inventory.callers import Caller, caller_of


def _event(claims: dict[str, str]) -> dict[str, object]:
    return {"requestContext": {"authorizer": {"jwt": {"claims": claims, "scopes": []}}}}


def test_the_app_client_names_a_client_credentials_caller() -> None:
    caller = caller_of(_event({"sub": "abc", "client_id": "pos-1", "scope": "x"}))
    assert caller == Caller(sub="abc", client_id="pos-1")
    assert caller.label == "pos-1"
    assert caller.log_fields() == {"caller_sub": "abc", "caller_client_id": "pos-1"}


def test_a_user_token_is_named_by_its_subject() -> None:
    assert caller_of(_event({"sub": "user-7"})).label == "user-7"


def test_an_event_without_an_authorizer_has_no_caller() -> None:
    caller = caller_of({"requestContext": {}})
    assert caller == Caller(sub=None, client_id=None)
    assert caller.log_fields() == {}
    assert caller.label == "unknown"


def test_a_claim_holding_nul_is_kept_without_it() -> None:
    event = {"requestContext": {"authorizer": {"jwt": {"claims": {"sub": "\x001.5"}}}}}
    assert caller_of(event).sub == "\ufffd1.5"
