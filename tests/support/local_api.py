"""The local API server (as `make run` serves it) started in-process against test services.

The server's authorizer trusts a key made for the test run (not `.local/`'s). `request` sends a
token with every scope the template names unless told otherwise (`token=None` for none, or a
token of your own), so the tests of what a route answers are not tests of the authorizer.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from joserfc.jwk import RSAKey

from devtools.lambda_runtime import InProcessFunctions
from devtools.local_api import LocalApiServer, serve_in_thread
from devtools.local_issuer import LocalIssuer
from devtools.template import FunctionSpec, load_template

CRON_TOKEN = "local-test-cron-token"
ALL_SCOPES = object()


@cache
def signing_key_for_tests() -> RSAKey:
    """The local issuer's key for this test process."""
    return RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)


def template_scopes() -> tuple[str, ...]:
    return tuple(sorted({s for route in load_template().http_routes for s in route.scopes}))


def issuer_for(url: str) -> LocalIssuer:
    """The issuer of the local API at `url` (its origin), with the test key."""
    parts = urlsplit(url)
    return LocalIssuer(f"{parts.scheme}://{parts.netloc}", signing_key_for_tests())


def token_for(url: str, scopes: tuple[str, ...] | None = None, **claims: Any) -> str:
    """A valid token for the local API at `url`: the given scopes, or every scope."""
    return issuer_for(url).mint(
        template_scopes() if scopes is None else scopes,
        client_id="local-pos-terminal",
        extra=claims or None,
    )


@contextmanager
def running_local_api(connections: Mapping[str, str]) -> Iterator[LocalApiServer]:
    """The template's functions behind a LocalApiServer on a free port of 127.0.0.1."""
    template = load_template()

    def environment_for(spec: FunctionSpec) -> dict[str, str]:
        return {**template.local_environment(spec, {}), **connections}

    functions = InProcessFunctions(environment_for)
    server = LocalApiServer(
        ("127.0.0.1", 0),
        template,
        functions.invoke,
        quiet=True,
        signing_key=signing_key_for_tests(),
    )
    thread = serve_in_thread(server)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def request(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    token: str | object | None = ALL_SCOPES,
) -> tuple[int, dict[str, str], Any]:
    """(status, headers, parsed JSON body) of one request; HTTP errors are answers too.

    Unless `headers` has an Authorization, it carries `token`: by default one with every
    scope the template names; None sends none."""
    headers = dict(headers or {})
    if not any(name.lower() == "authorization" for name in headers):
        value = token_for(url) if token is ALL_SCOPES else token
        if isinstance(value, str):
            headers["Authorization"] = f"Bearer {value}"
    prepared = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(prepared, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Response headers by lower-case name (HTTP names are case-insensitive)."""
    return {name.lower(): value for name, value in headers.items()}
