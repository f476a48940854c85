"""API Gateway's HTTP API JWT authorizer, as pure functions for `make run`'s local API.

What API Gateway does before it invokes a route's function (its documented workflow):

1. take the token from the identity source (`Authorization`), with or without `Bearer `;
2. decode it and check its algorithm and signature against the issuer's JWKS, the key chosen
   by the header's `kid` (RSA only: `RS256` here; `none`, and `HS256` signed with the public
   key, are refused before any key is used);
3. check the claims: `iss` is the configured issuer; `aud` (or, when the token has no `aud`,
   Cognito's `client_id`) is one of the audience entries; `exp` is in the future; `nbf` and
   `iat` are not;
4. when the route has AuthorizationScopes, the token's `scope` (space-separated) or `scp`
   holds at least one of them.

A failure in 1-3 is a 401 `{"message":"Unauthorized"}` with a `www-authenticate` header; a
failure in 4 is a 403 `{"message":"Forbidden"}`. An allowed request reaches the function with
the claims (as strings, as API Gateway passes them) in `requestContext.authorizer.jwt`.

No I/O here: the caller passes the key set and the clock. Nothing here logs a token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ALGORITHMS = ("RS256",)


@dataclass(frozen=True)
class JwtAuthorizerConfig:
    """One JWT authorizer: whom it trusts and the issuer's public keys."""

    issuer: str
    audience: tuple[str, ...]
    keys: KeySet


@dataclass(frozen=True)
class Allowed:
    claims: dict[str, str]
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Refused:
    """401 (no valid token) or 403 (a valid token without the route's scope)."""

    status: int
    reason: str


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization` value: the bare token or `Bearer <token>`."""
    if header is None:
        return None
    value = header.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value or None


def token_scopes(claims: Mapping[str, Any]) -> tuple[str, ...]:
    """`scope` (space-separated, OAuth 2.0) or `scp` (a list or a string, Entra ID / Okta)."""
    value = claims.get("scope") or claims.get("scp")
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return ()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _claims_problem(
    claims: Mapping[str, Any], config: JwtAuthorizerConfig, now: float
) -> str | None:
    if claims.get("iss") != config.issuer:
        return "the token does not have a valid issuer"
    audience = claims.get("aud") if "aud" in claims else claims.get("client_id")
    audiences = audience if isinstance(audience, list) else [audience]
    if not any(isinstance(item, str) and item in config.audience for item in audiences):
        return "the token does not have a valid audience"
    expiry: Any = claims.get("exp")
    if not _is_number(expiry) or expiry <= now:
        return "the token has expired"
    for name in ("nbf", "iat"):
        if name in claims and (not _is_number(claims[name]) or claims[name] > now):
            return f"the token's {name} is in the future"
    return None


def authorize(
    authorization: str | None,
    config: JwtAuthorizerConfig,
    route_scopes: Sequence[str],
    now: float,
) -> Allowed | Refused:
    """API Gateway's decision for one request to a route with this authorizer."""
    token = bearer_token(authorization)
    if token is None:
        return Refused(401, "")
    try:
        header = jws.extract_compact(token.encode()).headers() if token.count(".") == 2 else None
    except (JoseError, ValueError, TypeError):
        header = None
    if not isinstance(header, dict):
        return Refused(401, "the token could not be decoded")
    if header.get("alg") not in ALGORITHMS:
        return Refused(401, "the token's signing algorithm is not supported")
    kid = header.get("kid")
    if not isinstance(kid, str) or not any(key.kid == kid for key in config.keys):
        return Refused(401, "the token's kid is not in the issuer's key set")
    try:
        claims = jwt.decode(token, config.keys, algorithms=ALGORITHMS).claims
    except (JoseError, ValueError, TypeError):
        return Refused(401, "the token's signature is not valid")
    problem = _claims_problem(claims, config, now)
    if problem is not None:
        return Refused(401, problem)
    scopes = token_scopes(claims)
    if route_scopes and not set(route_scopes) & set(scopes):
        return Refused(403, "the token does not have the route's scope")
    return Allowed(
        claims={name: _claim_text(value) for name, value in claims.items()}, scopes=scopes
    )


def _claim_text(value: Any) -> str:
    """A claim as API Gateway puts it into the event: strings, numbers as text, lists as
    `[a b]`."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        return str(value)
    if isinstance(value, list):
        return "[" + " ".join(_claim_text(item) for item in value) + "]"
    return json.dumps(value, separators=(",", ":"))


def refusal(
    refused: Refused, route_scopes: Sequence[str]
) -> tuple[int, list[tuple[str, str]], bytes]:
    """API Gateway's answer to a refused request: status, headers, body."""
    scope = " ".join(route_scopes)
    if refused.status == 403:
        body = {"message": "Forbidden"}
        challenge = (
            f'Bearer scope="{scope}" error="insufficient_scope" '
            f'error_description="{refused.reason}"'
        )
    else:
        body = {"message": "Unauthorized"}
        challenge = (
            f'Bearer scope="{scope}" error="invalid_token" error_description="{refused.reason}"'
            if refused.reason
            else "Bearer"
        )
    headers = [("Content-Type", "application/json"), ("www-authenticate", challenge)]
    return refused.status, headers, json.dumps(body, separators=(",", ":")).encode()


def event_authorizer(allowed: Allowed) -> dict[str, Any]:
    """`requestContext.authorizer` of the event an allowed request produces."""
    return {"jwt": {"claims": dict(allowed.claims), "scopes": list(allowed.scopes)}}
