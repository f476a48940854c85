"""Tokens API Gateway's JWT authorizer must refuse, made against a local issuer's key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from devtools.local_issuer import LocalIssuer


def _segment(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(issuer: LocalIssuer, scopes: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "local-pos-terminal",
        "client_id": "local-pos-terminal",
        "iss": issuer.url,
        "token_use": "access",
        "scope": scopes,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def refused_tokens(issuer: LocalIssuer, scopes: str) -> dict[str, str]:
    """Each kind of token the authorizer answers with a 401, by name."""
    kid = str(issuer.key.kid)
    header = {"alg": "RS256", "kid": kid, "typ": "JWT"}
    good = _claims(issuer, scopes)

    def signed(claims: dict[str, Any]) -> str:
        return jwt.encode(header, claims, issuer.key, algorithms=["RS256"])

    other_key = RSAKey.generate_key(2048, parameters={"kid": kid}, auto_kid=False)
    public_pem = issuer.key.as_pem(private=False)
    hs_header = _segment({"alg": "HS256", "kid": kid, "typ": "JWT"}) + "." + _segment(good)
    hs_signature = hmac.new(public_pem, hs_header.encode(), hashlib.sha256).digest()
    return {
        "malformed": "not-a-jwt",
        "three garbage segments": "abc.def.ghi",
        "expired": signed(
            _claims(issuer, scopes, iat=int(time.time()) - 7200, exp=int(time.time()) - 60)
        ),
        "not yet valid": signed(_claims(issuer, scopes, nbf=int(time.time()) + 600)),
        "issued in the future": signed(_claims(issuer, scopes, iat=int(time.time()) + 600)),
        "without exp": signed(_claims(issuer, scopes, exp=None)),
        "wrong issuer": signed(_claims(issuer, scopes, iss="https://evil.example.com")),
        "wrong audience": signed(_claims(issuer, scopes, client_id="someone-else")),
        "wrong aud beside a good client_id": signed(_claims(issuer, scopes, aud="someone-else")),
        "alg none": _segment({"alg": "none", "kid": kid, "typ": "JWT"})
        + "."
        + _segment(good)
        + ".",
        "HS256 signed with the public key": hs_header
        + "."
        + base64.urlsafe_b64encode(hs_signature).rstrip(b"=").decode(),
        "signed by another key": jwt.encode(header, good, other_key, algorithms=["RS256"]),
        "unknown kid": jwt.encode(
            {**header, "kid": "not-ours"}, good, issuer.key, algorithms=["RS256"]
        ),
        "tampered claims": _tampered(signed(good)),
    }


def _tampered(token: str) -> str:
    head, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["scope"] = claims["scope"] + " inventory/notifications.manage"
    return f"{head}.{_segment(claims)}.{signature}"
