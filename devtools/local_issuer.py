"""The local token issuer `make run` serves beside the API, shaped like the stack's Cognito pool.

- its RSA signing key lives in `.local/jwt_signing_key.json` (created on first use, mode 600,
  never committed: `.local/` is ignored);
- `GET /.well-known/jwks.json` and `/.well-known/openid-configuration` publish the public key;
- `POST /oauth2/token` is Cognito's client-credentials endpoint: HTTP Basic client id and
  secret, `grant_type=client_credentials`, an optional `scope` form field (all the client's
  scopes when left out); it answers `{"access_token", "expires_in", "token_type": "Bearer"}`;
- tokens look like Cognito's access tokens: `iss`, `client_id` (no `aud`), `sub`, `scope`,
  `token_use: access`, `exp`, `iat`, `jti`.

The local clients (`LOCAL_CLIENTS`) mirror the template's app clients and scopes. Their
secrets are local development values with no meaning anywhere else.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from devtools.authorizer import ALGORITHMS, JwtAuthorizerConfig
from devtools.local_state import local_dir

TOKEN_LIFETIME_SECONDS = 3600
TOKEN_PATH = "/oauth2/token"  # noqa: S105 (a path, not a secret)
JWKS_PATH = "/.well-known/jwks.json"
DISCOVERY_PATH = "/.well-known/openid-configuration"


@dataclass(frozen=True)
class LocalClient:
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    description: str


# The template's app clients (PosClient, ManagerClient), with the same scopes.
LOCAL_CLIENTS = {
    client.client_id: client
    for client in (
        LocalClient(
            "local-pos-terminal",
            "local-pos-secret",
            ("inventory/availability.read", "inventory/sales.write"),
            "a POS terminal (PosClient)",
        ),
        LocalClient(
            "local-manager",
            "local-manager-secret",
            (
                "inventory/notifications.read",
                "inventory/notifications.manage",
                "inventory/sales.write",
            ),
            "the manager's tools (ManagerClient)",
        ),
    )
}


def key_path() -> Path:
    return local_dir() / "jwt_signing_key.json"


def load_or_create_key(path: Path | None = None) -> RSAKey:
    """The local signing key (default `.local/jwt_signing_key.json`); created with mode 600 on
    first use (safe under concurrent first uses: the file appears whole or not at all)."""
    path = path or key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(key.as_dict(private=True), handle)
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made one first: use theirs
        finally:
            temporary.unlink()
    return RSAKey.import_key(json.loads(path.read_text(encoding="utf-8")))


class LocalIssuer:
    """Signs tokens for the local clients and answers the issuer's endpoints."""

    def __init__(
        self,
        url: str,
        key: RSAKey,
        clients: Mapping[str, LocalClient] = LOCAL_CLIENTS,
    ) -> None:
        self.url = url
        self.key = key
        self.clients = dict(clients)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def authorizer_config(self) -> JwtAuthorizerConfig:
        """What the local API's authorizer trusts: this issuer, and, as the template's
        audience is the app client ids, the local clients' ids."""
        return JwtAuthorizerConfig(
            issuer=self.url,
            audience=tuple(self.clients),
            keys=KeySet.import_key_set(self.jwks()),  # type: ignore[arg-type]
        )

    def openid_configuration(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "jwks_uri": self.url + JWKS_PATH,
            "token_endpoint": self.url + TOKEN_PATH,
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "id_token_signing_alg_values_supported": list(ALGORITHMS),
            "scopes_supported": sorted({s for c in self.clients.values() for s in c.scopes}),
        }

    def mint(
        self,
        scopes: Iterable[str],
        *,
        client_id: str = "local-pos-terminal",  # an audience the local authorizer accepts
        now: float | None = None,
        lifetime: int = TOKEN_LIFETIME_SECONDS,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """A Cognito-shaped access token signed with the local key."""
        issued = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "sub": client_id,
            "client_id": client_id,
            "iss": self.url,
            "token_use": "access",
            "scope": " ".join(scopes),
            "auth_time": issued,
            "iat": issued,
            "exp": issued + lifetime,
            "jti": str(uuid.uuid4()),
            "version": 2,
        }
        claims.update(extra or {})
        header = {"alg": "RS256", "kid": self.key.kid, "typ": "JWT"}
        return jwt.encode(header, claims, self.key, algorithms=ALGORITHMS)

    def token_endpoint(
        self, headers: Sequence[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """`POST /oauth2/token`, client credentials with HTTP Basic client authentication."""
        client = self._client(headers)
        if client is None:
            return _oauth_error(401, "invalid_client", [("WWW-Authenticate", "Basic")])
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return _oauth_error(400, "invalid_request")
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type")
        asked = tuple(form["scope"].split()) if form.get("scope") else client.scopes
        if not asked or not set(asked) <= set(client.scopes):
            return _oauth_error(400, "invalid_scope")
        token = self.mint(asked, client_id=client.client_id)
        answer = {
            "access_token": token,
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "token_type": "Bearer",
        }
        return 200, _json_headers(), json.dumps(answer).encode()

    def _client(self, headers: Sequence[tuple[str, str]]) -> LocalClient | None:
        value = next((v for k, v in headers if k.lower() == "authorization"), "")
        if value[:6].lower() != "basic ":
            return None
        try:
            decoded = base64.b64decode(value[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, _, secret = decoded.partition(":")
        client = self.clients.get(client_id)
        if client is None or not _same(secret, client.client_secret):
            return None
        return client


def _same(given: str, expected: str) -> bool:
    import hmac

    return hmac.compare_digest(given.encode(), expected.encode())


def _json_headers() -> list[tuple[str, str]]:
    return [("Content-Type", "application/json"), ("Cache-Control", "no-store")]


def _oauth_error(
    status: int, error: str, extra: list[tuple[str, str]] | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, _json_headers() + (extra or []), json.dumps({"error": error}).encode()


def basic_auth(client: LocalClient) -> str:
    """The `Authorization` value a client sends to the token endpoint."""
    raw = f"{client.client_id}:{client.client_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()
