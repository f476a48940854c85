"""Schemathesis against the local API: generated requests, zero 5xx, zero schema violations.

Every operation of the committed openapi.json is fuzzed with valid (positive) and invalid
(negative) requests sent over HTTP to the local server, which routes them to the real handlers
(demo bar in PostgreSQL, cooldown table in moto). Every response must pass schemathesis'
checks: no server error, a documented status, content type, headers and body schema.
Derandomized, so a run is repeatable.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devtools.local_api import LocalApiServer
from devtools.openapi import OPENAPI_PATH
from tests.support.local_api import token_for

MIN_REQUESTS = 1000
EXAMPLES_PER_OPERATION_AND_MODE = 110


# Every response check; positive_data_acceptance is left out because a schema-valid request
# may still break a business rule (an unknown id in a cart is a 422), and the stateful checks
# (use_after_free...) need links the document does not declare.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@dataclass
class FuzzLog:
    requests: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    # (operation, mode, first line of the failure) -> (count, curl line of the first case)
    failures: dict[tuple[str, str, str], tuple[int, str]] = field(default_factory=dict)

    def record_failure(self, operation: str, mode: str, failure: BaseException, curl: str) -> None:
        lines = [line.strip() for line in str(failure).splitlines() if line.strip()]
        title = next((line for line in lines if line.startswith("- ")), lines[0] if lines else "")
        count, first = self.failures.get((operation, mode, title), (0, curl))
        self.failures[(operation, mode, title)] = (count + 1, first)

    def report(self) -> str:
        return "\n".join(
            f"{operation} [{mode}] {title} x{count}\n    {curl}"
            for (operation, mode, title), (count, curl) in sorted(self.failures.items())
        )


def _fuzz(operation: Any, mode: GenerationMode, base_url: str, log: FuzzLog) -> None:
    @settings(
        max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, timeout=30, headers=_bearer(case, base_url))
        log.requests += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (FailureGroup, AssertionError) as failure:
            log.record_failure(operation.label, mode.value, failure, case.as_curl_command())

    started = time.perf_counter()
    # Unsatisfiable: e.g. no invalid request exists for an operation without parameters.
    with contextlib.suppress(Unsatisfiable):
        run()
    label = f"{operation.label} [{mode.value}]"
    log.seconds[label] = time.perf_counter() - started


def _bearer(case: Any, base_url: str) -> dict[str, str]:
    """A token with every scope, so the requests reach the handlers past the authorizer
    (tests/integration/handlers/test_local_authorizer.py tests the authorizer); none when the
    case sends its own Authorization (the cron route's scheme)."""
    if any(name.lower() == "authorization" for name in case.headers or {}):
        return {}
    return {"Authorization": f"Bearer {token_for(base_url)}"}


@pytest.mark.slow
def test_generated_requests_get_no_server_error_and_conform_to_the_document(
    local_api: LocalApiServer,
) -> None:
    schema = schemathesis.openapi.from_path(OPENAPI_PATH)
    log = FuzzLog()

    for result in schema.get_all_operations():
        if isinstance(result, Err):
            pytest.fail(f"openapi.json has an operation schemathesis cannot read: {result.err()}")
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, local_api.url, log)

    print(f"{log.requests} requests;", {k: round(v, 1) for k, v in log.seconds.items()})
    assert not log.failures, log.report()
    assert log.requests >= MIN_REQUESTS, f"only {log.requests} requests were generated"


# --- hostile input: what a generator does not write, sent through the same checks -----------

_CART = "/api/pos/cart/validate"
_CHECK = "/api/inventory/notifications/check"
_LIST = "/api/packages/availability"
_JSON = "application/json"
_LINE = '{"items": [{"product_id": "00000000-0000-0000-0000-000000000001", "quantity": %s}]}'
HOSTILE_BODIES: list[tuple[bytes, dict[str, str]]] = [
    *[
        (text.encode(), {"Content-Type": _JSON})
        for text in (
            "[" * 1_000 + "]" * 1_000,  # nested deeper than Python recurses
            '{"items": ' + "[" * 5_000 + "]" * 5_000 + "}",
            "9" * 5_001,  # beyond Python's digit limit for int()
            *[
                _LINE % number
                for number in (
                    "9" * 5_001,
                    "1e400",
                    "1e-400",
                    "-0.0",
                    "1E+2",
                    "0.1e1",
                    "9.0000000000000001",
                    "9.000000000000002",
                    "1.5E-7",
                    "0." + "0" * 400 + "1",
                )
            ],
            '{"check_all": NaN}',
            "\ufeff{}",
            "null",
        )
    ],
    (b'{"items": []}', {"Content-Type": "text/plain"}),  # what a browser's fetch sends
    (b'{"items": []}', {"Content-Type": "application/vnd.api+json"}),
    (b"items=1&check_all=true", {"Content-Type": "application/x-www-form-urlencoded"}),
    (
        b'--x\r\nContent-Disposition: form-data; name="check_all"\r\n\r\ntrue\r\n--x--\r\n',
        {"Content-Type": "multipart/form-data; boundary=x"},
    ),
    (b"\xff\xfe{}", {"Content-Type": _JSON}),
]
HOSTILE_CURSORS = [
    "\x00",
    "AA==",  # base64 of a NUL byte
    "WyJcdTAwMDAiLCJ4Il0",  # base64 of ["\u0000","x"]
    "WyJcdWQ4MDAiLCIwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDAiXQ",  # a lone surrogate
    "%00",
    "====",
    "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"),
    "x" * 2_048,
]


@pytest.mark.slow
def test_hostile_input_gets_a_documented_4xx_never_a_5xx(local_api: LocalApiServer) -> None:
    schema = schemathesis.openapi.from_path(OPENAPI_PATH)
    checks = [check for check in CHECKS if check is not negative_data_rejection]
    cases = [
        schema[path]["POST"].Case(body=body, headers=headers, media_type=headers["Content-Type"])
        for path in (_CART, _CHECK)
        for body, headers in HOSTILE_BODIES
    ] + [schema[_LIST]["GET"].Case(query={"after": cursor}) for cursor in HOSTILE_CURSORS]
    refused: list[str] = []
    for case in cases:
        response = case.call(
            base_url=local_api.url, timeout=30, headers=_bearer(case, local_api.url)
        )
        try:
            case.validate_response(response, checks=checks)
        except (FailureGroup, AssertionError) as failure:
            refused.append(f"{case.as_curl_command()}\n    {str(failure).splitlines()[0]}")
        if not 200 <= response.status_code < 500:
            refused.append(f"{case.as_curl_command()}\n    answered {response.status_code}")
    assert refused == []
