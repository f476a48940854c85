"""`make run`'s HTTP API answers a browser the way the HTTP API's CorsConfiguration does.

The local API runs with template.yaml's defaults, so the allowed origin is the
`CorsAllowedOrigins` parameter's default, `http://localhost:3000`.
"""

from __future__ import annotations

from devtools.local_api import LocalApiServer
from tests.support.local_api import lower_headers, request

POS = "http://localhost:3000"
ELSEWHERE = "https://evil.example.com"


def _cors(headers: dict[str, str]) -> dict[str, str]:
    return {
        name: value for name, value in lower_headers(headers).items() if name.startswith("access-")
    }


def test_preflight_is_answered_by_the_gateway_with_the_templates_cors(
    local_api: LocalApiServer, invocations: list[str]
) -> None:
    status, headers, body = request(
        f"{local_api.url}/api/pos/cart/validate",
        method="OPTIONS",
        headers={
            "Origin": POS,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,authorization",
        },
    )

    assert status == 204
    assert body is None
    cors = _cors(headers)
    assert cors["access-control-allow-origin"] == POS
    assert "POST" in cors["access-control-allow-methods"].split(",")
    allowed = {name.lower() for name in cors["access-control-allow-headers"].split(",")}
    assert {"content-type", "authorization", "if-none-match"} <= allowed
    assert cors["access-control-max-age"] == "600"
    assert invocations == []  # neither the function nor anything behind the gateway ran


def test_preflight_from_another_origin_gets_no_cors_headers(
    local_api: LocalApiServer, invocations: list[str]
) -> None:
    status, headers, _ = request(
        f"{local_api.url}/api/pos/cart/validate",
        method="OPTIONS",
        headers={"Origin": ELSEWHERE, "Access-Control-Request-Method": "POST"},
    )

    assert status == 204
    assert _cors(headers) == {}
    assert invocations == []


def test_get_with_an_allowed_origin_exposes_etag_link_and_retry_after(
    local_api: LocalApiServer, invocations: list[str]
) -> None:
    status, headers, body = request(
        f"{local_api.url}/api/packages/availability?limit=2", headers={"Origin": POS}
    )

    assert status == 200
    assert body["success"] is True
    cors = _cors(headers)
    assert cors["access-control-allow-origin"] == POS
    exposed = {name.strip().lower() for name in cors["access-control-expose-headers"].split(",")}
    assert {"etag", "link", "retry-after"} <= exposed
    # The headers a browser may now read are really there.
    assert "etag" in lower_headers(headers)
    assert "link" in lower_headers(headers)
    assert invocations == ["PackagesAvailabilityFunction"]


def test_get_from_another_origin_or_without_one_gets_no_cors_headers(
    local_api: LocalApiServer,
) -> None:
    url = f"{local_api.url}/api/packages/availability"

    foreign_status, foreign, _ = request(url, headers={"Origin": ELSEWHERE})
    plain_status, plain, _ = request(url)

    assert (foreign_status, plain_status) == (200, 200)
    assert _cors(foreign) == {}
    assert _cors(plain) == {}
