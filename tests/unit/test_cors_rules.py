"""devtools.cors: API Gateway HTTP API's CORS rules on plain values (no server, no template)."""

from __future__ import annotations

import pytest

from devtools.cors import (
    CorsPolicy,
    header,
    is_preflight,
    preflight_headers,
    response_headers,
)

POS = "https://pos.example.com"
POLICY = CorsPolicy(
    allow_origins=(POS, "http://localhost:5173"),
    allow_methods=("GET", "POST", "DELETE", "OPTIONS"),
    allow_headers=("Authorization", "Content-Type", "If-None-Match"),
    expose_headers=("ETag", "Link", "Retry-After"),
    max_age=600,
)


def _preflight(
    origin: str, method: str = "POST", requested: str | None = None
) -> list[tuple[str, str]]:
    headers = [("Origin", origin), ("Access-Control-Request-Method", method)]
    if requested is not None:
        headers.append(("Access-Control-Request-Headers", requested))
    return headers


def test_a_preflight_needs_options_an_origin_and_the_requested_method() -> None:
    assert is_preflight("OPTIONS", _preflight(POS))
    assert is_preflight("options", [("ORIGIN", POS), ("access-control-request-method", "GET")])
    assert not is_preflight("OPTIONS", [("Origin", POS)])
    assert not is_preflight("OPTIONS", [("Access-Control-Request-Method", "GET")])
    assert not is_preflight("GET", _preflight(POS))


def test_an_allowed_preflight_gets_every_configured_header() -> None:
    answer = dict(preflight_headers(POLICY, _preflight(POS, "POST", "content-type")))

    assert answer == {
        "Access-Control-Allow-Origin": POS,
        "Access-Control-Allow-Methods": "GET,POST,DELETE,OPTIONS",
        "Access-Control-Allow-Headers": "Authorization,Content-Type,If-None-Match",
        "Access-Control-Max-Age": "600",
    }


def test_credentials_are_allowed_only_when_configured() -> None:
    with_credentials = CorsPolicy(
        allow_origins=(POS,), allow_methods=("GET",), allow_credentials=True
    )

    preflight = dict(preflight_headers(with_credentials, _preflight(POS, "GET")))
    actual = dict(response_headers(with_credentials, [("Origin", POS)], []))

    assert preflight["Access-Control-Allow-Credentials"] == "true"
    assert actual["Access-Control-Allow-Credentials"] == "true"
    assert "Access-Control-Allow-Credentials" not in dict(
        preflight_headers(POLICY, _preflight(POS))
    )


@pytest.mark.parametrize(
    ("origin", "method", "requested"),
    [
        ("https://evil.example.com", "POST", None),  # origin not listed
        ("https://pos.example.com.evil.net", "POST", None),  # exact origins, not prefixes
        (POS + "/", "POST", None),  # an origin has no path
        (POS, "PUT", None),  # method not allowed
        (POS, "post", None),  # methods are matched as sent (browsers upper-case POST)
        (POS, "POST", "content-type,x-debug"),  # one header not allowed refuses all
    ],
)
def test_a_refused_preflight_gets_no_cors_headers(
    origin: str, method: str, requested: str | None
) -> None:
    assert preflight_headers(POLICY, _preflight(origin, method, requested)) == []


def test_header_names_are_matched_without_regard_to_case() -> None:
    requested = "AUTHORIZATION, content-type ,If-None-Match"

    assert preflight_headers(POLICY, _preflight(POS, "GET", requested)) != []
    assert header([("X-A", "1"), ("x-a", "2")], "X-a") == "1,2"


def test_origins_are_matched_without_regard_to_case_and_echoed_as_sent() -> None:
    answer = dict(response_headers(POLICY, [("origin", "HTTPS://POS.example.com")], []))

    assert answer["Access-Control-Allow-Origin"] == "HTTPS://POS.example.com"


def test_star_allows_any_origin_and_is_answered_as_star() -> None:
    anyone = CorsPolicy(allow_origins=("*",), allow_methods=("*",), allow_headers=("*",))

    answer = dict(preflight_headers(anyone, _preflight("https://a.test", "PATCH", "x-anything")))

    assert answer["Access-Control-Allow-Origin"] == "*"
    assert answer["Access-Control-Allow-Methods"] == "*"
    assert answer["Access-Control-Allow-Headers"] == "*"


def test_a_scheme_wildcard_allows_every_origin_of_that_scheme_only() -> None:
    https_only = CorsPolicy(allow_origins=("https://*",))

    assert https_only.allowed_origin("https://any.example.org") == "https://any.example.org"
    assert https_only.allowed_origin("http://any.example.org") is None
    assert https_only.allowed_origin("https://") is None


@pytest.mark.parametrize("origin", ["https://*.example.com", "*.example.com", "https://pos.*"])
def test_wildcard_subdomains_are_refused_as_api_gateway_refuses_them(origin: str) -> None:
    with pytest.raises(ValueError, match="wildcard"):
        CorsPolicy(allow_origins=(origin,))


def test_credentials_with_any_origin_is_refused() -> None:
    with pytest.raises(ValueError, match="AllowCredentials"):
        CorsPolicy(allow_origins=("*",), allow_credentials=True)


def test_an_allowed_origin_gets_allow_origin_and_expose_headers_on_the_answer() -> None:
    answer = response_headers(
        POLICY, [("Origin", POS)], [("Content-Type", "application/json"), ("ETag", '"v1"')]
    )

    assert answer == [
        ("Content-Type", "application/json"),
        ("ETag", '"v1"'),
        ("Access-Control-Allow-Origin", POS),
        ("Access-Control-Expose-Headers", "ETag,Link,Retry-After"),
    ]


def test_the_functions_own_cors_headers_are_ignored() -> None:
    from_function = [
        ("access-control-allow-origin", "*"),
        ("Access-Control-Allow-Credentials", "true"),
        ("Content-Type", "application/json"),
    ]

    allowed = response_headers(POLICY, [("Origin", POS)], from_function)
    refused = response_headers(POLICY, [("Origin", "https://evil.example.com")], from_function)

    assert dict(allowed)["Access-Control-Allow-Origin"] == POS
    assert "Access-Control-Allow-Credentials" not in dict(allowed)
    assert refused == [("Content-Type", "application/json")]


def test_a_request_without_an_origin_gets_no_cors_headers() -> None:
    assert response_headers(POLICY, [], [("ETag", '"v1"')]) == [("ETag", '"v1"')]
    assert POLICY.allowed_origin("") is None
