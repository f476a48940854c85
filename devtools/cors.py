"""An HTTP API's CORS configuration applied to requests as API Gateway applies it.

Pure rules on plain values (no I/O); `devtools.template` reads the policy from template.yaml
and `devtools.local_api` calls these for every request. What API Gateway does, from "Configure
CORS for HTTP APIs in API Gateway"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html):

- A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered by
  API Gateway itself, even without an OPTIONS route, so neither the function nor an authorizer
  runs: `204` with Allow-Origin, Allow-Methods, Allow-Headers, Max-Age and Allow-Credentials
  as configured when the origin, the method and every requested header are allowed, and a
  bare `204` (no CORS headers, so the browser refuses) when not. Only a route that itself
  takes OPTIONS (an `OPTIONS` or `ANY` route, `$default`) gets the preflight instead.
- Any other request with an allowed `Origin` gets Allow-Origin, Expose-Headers and
  Allow-Credentials added to the function's response; a disallowed or missing origin gets
  none. CORS headers the function returns itself are ignored (removed).
- Origins: `*` allows any (answered `*`); `https://*` and `http://*` allow any origin of
  that scheme (answered with the origin). A wildcard anywhere else (`https://*.example.com`)
  is not a pattern API Gateway accepts, and `*` with AllowCredentials is refused by it
  ("allow-credentials is not supported if 'allow-origin' is *"): both are errors here too,
  so a configuration that would not deploy does not run locally either.
- `*` in AllowMethods or AllowHeaders allows any method or header. Header names (the
  request's and the configured ones) are matched without regard to case; methods as sent
  (browsers upper-case the standard ones, not PATCH). Origins are compared without regard to
  case, hosts being case-insensitive (browsers send them lower-case anyway).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Headers = Sequence[tuple[str, str]]

WILDCARD = "*"
SCHEME_WILDCARDS = ("https://*", "http://*")
_PREFIX = "access-control-"


@dataclass(frozen=True)
class CorsPolicy:
    """The six properties of an HTTP API's CorsConfiguration, already resolved to values."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    def __post_init__(self) -> None:
        for origin in self.allow_origins:
            if WILDCARD in origin and origin not in (WILDCARD, *SCHEME_WILDCARDS):
                raise ValueError(
                    f"CORS origin {origin!r}: the HTTP API accepts a wildcard only as '*', "
                    "'https://*' or 'http://*'; list each origin instead."
                )
        if self.allow_credentials and WILDCARD in self.allow_origins:
            raise ValueError("CORS: AllowCredentials cannot be true when AllowOrigins has '*'.")
        if self.max_age is not None and self.max_age < 0:
            raise ValueError(f"CORS MaxAge must not be negative, not {self.max_age}.")

    def allowed_origin(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for a request from `origin`; None when the
        origin is missing or not allowed."""
        if not origin:
            return None
        if WILDCARD in self.allow_origins:
            return WILDCARD
        lowered = origin.lower()
        for allowed in self.allow_origins:
            if allowed in SCHEME_WILDCARDS:
                if lowered.startswith(allowed[:-1]) and len(lowered) > len(allowed) - 1:
                    return origin
            elif lowered == allowed.lower():
                return origin
        return None

    def allows_method(self, method: str) -> bool:
        return WILDCARD in self.allow_methods or method in self.allow_methods

    def allows_headers(self, names: Iterable[str]) -> bool:
        if WILDCARD in self.allow_headers:
            return True
        allowed = {name.lower() for name in self.allow_headers}
        return all(name.lower() in allowed for name in names)


def header(headers: Headers, name: str) -> str | None:
    """A request header's value, its name matched without regard to case; repeated headers
    are joined with commas, as API Gateway joins them."""
    values = [value for key, value in headers if key.lower() == name.lower()]
    return ",".join(values) if values else None


def _names(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def is_preflight(method: str, headers: Headers) -> bool:
    """Whether a request is a CORS preflight: OPTIONS with Origin and the requested method."""
    return (
        method.upper() == "OPTIONS"
        and bool(header(headers, "origin"))
        and bool(header(headers, "access-control-request-method"))
    )


def preflight_headers(policy: CorsPolicy, headers: Headers) -> list[tuple[str, str]]:
    """The headers of API Gateway's own 204 answer to a preflight; empty when it is refused."""
    origin = policy.allowed_origin(header(headers, "origin"))
    method = (header(headers, "access-control-request-method") or "").strip()
    requested = _names(header(headers, "access-control-request-headers"))
    if origin is None or not policy.allows_method(method) or not policy.allows_headers(requested):
        return []
    answer = [("Access-Control-Allow-Origin", origin)]
    if policy.allow_credentials:
        answer.append(("Access-Control-Allow-Credentials", "true"))
    if policy.allow_methods:
        answer.append(("Access-Control-Allow-Methods", ",".join(policy.allow_methods)))
    if policy.allow_headers:
        answer.append(("Access-Control-Allow-Headers", ",".join(policy.allow_headers)))
    if policy.max_age is not None:
        answer.append(("Access-Control-Max-Age", str(policy.max_age)))
    return answer


def response_headers(
    policy: CorsPolicy, request: Headers, response: Headers
) -> list[tuple[str, str]]:
    """The response's headers as API Gateway sends them: the function's own CORS headers
    dropped, the configured ones added for an allowed origin."""
    kept = [(name, value) for name, value in response if not name.lower().startswith(_PREFIX)]
    origin = policy.allowed_origin(header(request, "origin"))
    if origin is None:
        return kept
    kept.append(("Access-Control-Allow-Origin", origin))
    if policy.allow_credentials:
        kept.append(("Access-Control-Allow-Credentials", "true"))
    if policy.expose_headers:
        kept.append(("Access-Control-Expose-Headers", ",".join(policy.expose_headers)))
    return kept
