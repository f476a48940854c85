"""The HTTP API on 127.0.0.1, routed the way API Gateway's HTTP API routes it.

Each request is matched against template.yaml's HttpApi routes, turned into a payload v2.0
event (routeKey, pathParameters, raw query, lower-case headers, cookies, base64 for binary
bodies) and handed to the real `lambda_handler`; its statusCode, headers, cookies and body are
what the client gets back.

The HttpApi's CorsConfiguration is applied as API Gateway applies it (`devtools.cors`): the
gateway answers a preflight itself, without invoking a function, and adds the configured CORS
headers to the answers sent to an allowed origin.

Each route's authorizer and scopes are enforced as API Gateway's JWT authorizer enforces them
(`devtools.authorizer`): 401 without a valid token, 403 without the route's scope, the claims
in `requestContext.authorizer.jwt` otherwise. The tokens come from the local issuer
(`devtools.local_issuer`), which stands in for the stack's Cognito pool and is served by the
same server: its JWKS, its discovery document and its client-credentials token endpoint.

The access log (stderr, `[api] ...`) names the path without its query string, as the deployed
HTTP API's access log does: the cron route accepts `?token=<CRON_SECRET>`.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from joserfc.jwk import RSAKey

from devtools import authorizer, cors, local_issuer
from devtools.apigw import http_api_event
from devtools.local_issuer import LocalIssuer
from devtools.template import FunctionSpec, HttpRoute, Template

Invoke = Callable[[FunctionSpec, dict[str, Any]], Any]

_TEXT_TYPES = ("text/", "application/json", "+json", "application/xml", "+xml", "urlencoded")


def _is_text(content_type: str, body: bytes) -> bool:
    if content_type and not any(kind in content_type.lower() for kind in _TEXT_TYPES):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _json_error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    body = {"success": False, "error": {"code": code, "message": message}}
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def build_event(
    route_path: str,
    method: str,
    raw_path: str,
    raw_query: str,
    path_parameters: dict[str, str],
    headers: list[tuple[str, str]],
    body: bytes,
) -> dict[str, Any]:
    """The v2.0 event API Gateway would send for this request."""
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        # API Gateway joins repeated headers with commas.
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    content_type = merged.get("content-type", "")
    payload: str | bytes | None = None
    if body:
        payload = body.decode("utf-8") if _is_text(content_type, body) else body
    event = http_api_event(
        method,
        route_path,
        raw_path,
        path_parameters=path_parameters,
        headers=merged,
        body=payload,
    )
    event["rawQueryString"] = raw_query
    event.pop("queryStringParameters", None)
    if raw_query:
        query: dict[str, str] = {}
        for key, value in parse_qsl(raw_query, keep_blank_values=True):
            query[key] = f"{query[key]},{value}" if key in query else value
        event["queryStringParameters"] = query
    if cookies:
        event["cookies"] = cookies
    return event


def _response_parts(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """statusCode, headers (Set-Cookie included) and body of a handler's result.

    As API Gateway does for payload v2.0, a result without statusCode is a 200 JSON body.
    """
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, [("Content-Type", "application/json")], json.dumps(result).encode()
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(value)) for value in values)
    headers.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    return int(result["statusCode"]), headers, body


# A request target's query string, wherever the log line quotes one (the request line, or
# http.server's "Bad request syntax ('...')" when it cannot parse one): up to the next space,
# which ends the target in a request line, whatever characters a hostile query holds.
_QUERY = re.compile(r"\?\S*")


def without_query(text: str) -> str:
    """`text` with every request target's query string left out."""
    return _QUERY.sub("", text)


class LocalApiServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: a burst of clients (a POS fleet at opening time, a
    # load test) overflowed it and got their connections dropped. The kernel caps this at
    # net.core.somaxconn.
    request_queue_size = socket.SOMAXCONN

    def __init__(
        self,
        address: tuple[str, int],
        template: Template,
        invoke: Invoke,
        *,
        quiet: bool = False,
        parameters: Mapping[str, str] | None = None,
        signing_key: RSAKey | None = None,
    ) -> None:
        """`parameters` override template parameters' defaults (e.g. `CorsAllowedOrigins`);
        `signing_key` is the local issuer's key (default: the one kept in `.local/`)."""
        self.template = template
        self.invoke = invoke
        self.quiet = quiet
        self.cors = template.cors_policy(parameters)
        self.requests_served = 0
        self._count_lock = threading.Lock()
        super().__init__(address, _Handler)
        self.issuer = LocalIssuer(self.url, signing_key or local_issuer.load_or_create_key())
        declared = template.jwt_authorizers()
        self._identity_headers = {
            name: spec.identity_source.removeprefix("$request.header.").lower()
            for name, spec in declared.items()
        }
        self._authorizer = self.issuer.authorizer_config()
        for route in template.http_routes:
            if route.authorizer is not None and route.authorizer not in declared:
                raise ValueError(f"{route.route_key}: no JWT authorizer {route.authorizer!r}")

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def respond(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        with self._count_lock:
            self.requests_served += 1
        parts = urlsplit(target)
        raw_path = unquote(parts.path) or "/"
        issued = self._issuer_endpoint(method, raw_path, headers, body)
        if issued is not None:
            return issued
        try:
            spec, route, parameters = self.template.function_for(method, raw_path)
        except KeyError:
            # No route takes this OPTIONS: with CORS configured, the gateway answers a preflight.
            if self.cors is not None and cors.is_preflight(method, headers):
                return 204, cors.preflight_headers(self.cors, headers), b""
            status, plain, content = _json_error(404, "route_not_found", "No such route.")
            return self._with_cors(headers, (status, list(plain.items()), content))
        event = build_event(route.path, method, raw_path, parts.query, parameters, headers, body)
        decision = self._authorize(route, headers)
        if isinstance(decision, authorizer.Refused):
            return self._with_cors(headers, authorizer.refusal(decision, route.scopes))
        if decision is not None:
            event["requestContext"]["authorizer"] = authorizer.event_authorizer(decision)
        try:
            result = self.invoke(spec, event)
        except Exception:  # noqa: BLE001
            # As API Gateway answers when the integration fails; the traceback is for the log.
            traceback.print_exc(file=sys.stderr)
            status, plain, content = _json_error(
                500, "internal_error", "The function raised an error."
            )
            return self._with_cors(headers, (status, list(plain.items()), content))
        return self._with_cors(headers, _response_parts(result))

    def _authorize(
        self, route: HttpRoute, headers: list[tuple[str, str]]
    ) -> authorizer.Allowed | authorizer.Refused | None:
        """The route's authorizer's decision; None for a public route."""
        if route.authorizer is None:
            return None
        name = self._identity_headers[route.authorizer]
        value = next((v for k, v in headers if k.lower() == name), None)
        return authorizer.authorize(value, self._authorizer, route.scopes, time.time())

    def _issuer_endpoint(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """The local issuer's endpoints (in AWS: the Cognito pool's), None for other paths."""
        if method == "POST" and path == local_issuer.TOKEN_PATH:
            return self.issuer.token_endpoint(headers, body)
        documents = {
            local_issuer.JWKS_PATH: self.issuer.jwks,
            local_issuer.DISCOVERY_PATH: self.issuer.openid_configuration,
        }
        if method == "GET" and path in documents:
            content = json.dumps(documents[path]()).encode()
            return 200, [("Content-Type", "application/json")], content
        return None

    def _with_cors(
        self, request: list[tuple[str, str]], answer: tuple[int, list[tuple[str, str]], bytes]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        if self.cors is None:
            return answer
        status, headers, content = answer
        return status, cors.response_headers(self.cors, request, headers), content


class _Handler(BaseHTTPRequestHandler):
    server: LocalApiServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, keep-alive clients wait ~40 ms.
    disable_nagle_algorithm = True
    server_version = "inventory-local"

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        status, headers, content = self.server.respond(
            self.command, self.path, list(self.headers.items()), body
        )
        if status in (204, 304):
            content = b""
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)

    # http.server looks methods up as do_<METHOD>.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _dispatch  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            line = without_query(format % args)
            sys.stderr.write(f"[api] {self.address_string()} {line}\n")


def serve_in_thread(server: LocalApiServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="local-api", daemon=True)
    thread.start()
    return thread
