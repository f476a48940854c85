"""The committed `events/` files, adjusted per test, and a Lambda context like the real one."""

from __future__ import annotations

import base64
import copy
import json
import re
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


@cache
def _read(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    return data


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of events/<name> (tests may mutate it)."""
    return copy.deepcopy(_read(name))


def http_event(
    name: str,
    *,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: Any = None,
    raw_body: bytes | None = None,
) -> dict[str, Any]:
    """events/<name> with its path, query, headers or body replaced, kept self-consistent."""
    event = load_event(name)
    if path_parameters is not None:
        event["pathParameters"] = path_parameters
        path = event["routeKey"].split(" ", 1)[1]
        for key, value in path_parameters.items():
            path = path.replace("{" + key + "}", value)
        event["rawPath"] = path
        event["requestContext"]["http"]["path"] = path
    if query is not None:
        from urllib.parse import urlencode

        event["queryStringParameters"] = query
        event["rawQueryString"] = urlencode(query)
    if headers is not None:
        event["headers"].update({k.lower(): v for k, v in headers.items()})
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
        event["isBase64Encoded"] = False
    if raw_body is not None:
        event["body"] = base64.b64encode(raw_body).decode()
        event["isBase64Encoded"] = True
    return event


def with_idempotency_key(event: dict[str, Any], key: str | None) -> dict[str, Any]:
    """The write's event under `key`: a new one when None, no header at all when ""."""
    if key is None:
        event["headers"]["idempotency-key"] = str(uuid.uuid4())
    elif key == "":
        event["headers"].pop("idempotency-key", None)
    else:
        event["headers"]["idempotency-key"] = key
    return event


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads from the real LambdaContext."""

    function_name: str = "test-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2025/10/21/[$LATEST]abcdef"
    function_version: str = "$LATEST"
    # As much as a 15 s function has at its start; the delivery function has 120 s.
    remaining_ms: int = 15_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def response_json(response: dict[str, Any]) -> Any:
    body = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return json.loads(body)


_NEXT = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


def next_query(response: dict[str, Any], path: str) -> dict[str, str] | None:
    """The query of a response's `Link: <path?…>; rel="next"` header; None on the last page."""
    link = response["headers"].get("Link")
    if link is None:
        return None
    match = _NEXT.match(link)
    assert match is not None, link
    url = urlsplit(match["url"])
    assert url.path == path
    return {key: values[0] for key, values in parse_qs(url.query).items()}


def refused_fields(error: dict[str, Any]) -> list[tuple[str, str]]:
    """The (location, field) pairs an error envelope's details name, in order."""
    return [(detail["in"], detail["field"]) for detail in error["details"]]
