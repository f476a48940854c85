"""Conditional GET (RFC 9110 §13): ETag on the answer, 304 when If-None-Match matches it.

A 304 is raised as `NotModified` and turned into a response by an exception handler, because
the route's declared body (the envelope) is validated on every returned response and a 304
has no body.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.event_handler.openapi.types import (
    OpenAPIResponse,
    OpenAPIResponseHeader,
)

from inventory.http import ERROR_RESPONSES

# Clients may store the answer but must revalidate it (a cheap 304) before using it again.
CACHE_CONTROL = "no-cache"

IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        description="ETag(s) of the copy the client holds; a match answers 304 without a body.",
    ),
]

# An entity-tag, optionally weak: W/"opaque" (RFC 9110 §8.8.3). Commas may sit inside quotes.
_ENTITY_TAG = re.compile(r'(?:W/)?("[^"]*")')


class NotModified(Exception):  # noqa: N818 (named after the status, like werkzeug's)
    """The client's copy is current: answer 304 with this ETag."""

    def __init__(self, etag: str) -> None:
        super().__init__(etag)
        self.etag = etag


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


def if_none_match_matches(header: str | None, etag: str) -> bool:
    """Whether If-None-Match names the current representation (RFC 9110 §13.1.2).

    `*` matches any current representation; otherwise each listed tag is compared with the
    weak comparison (W/ ignored on both sides). Unparseable members match nothing.
    """
    if header is None:
        return False
    value = header.strip()
    if value == "*":
        return True
    current = _opaque(etag)
    return any(tag == current for tag in _ENTITY_TAG.findall(value))


def etag_json_response(data_json: bytes, etag: str, if_none_match: str | None) -> Response[str]:
    """200 with the ETag, or NotModified when the client already holds this representation.

    `data_json` is the answer already serialised (kept by the cache): the success envelope is
    assembled around it, so a warm hit is not validated and serialised again.
    """
    if if_none_match_matches(if_none_match, etag):
        raise NotModified(etag)
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type=content_types.APPLICATION_JSON,
        body='{"success":true,"data":' + data_json.decode() + "}",
        headers={"ETag": etag, "Cache-Control": CACHE_CONTROL},
    )


def _not_modified(error: NotModified) -> Response[str]:
    return Response(
        status_code=HTTPStatus.NOT_MODIFIED.value,
        body=None,
        headers={"ETag": error.etag, "Cache-Control": CACHE_CONTROL},
    )


def enable_conditional_get(app: APIGatewayHttpResolver) -> APIGatewayHttpResolver:
    """Let the app's routes answer 304 by raising NotModified."""
    app.exception_handler(NotModified)(_not_modified)
    return app


_ETAG_HEADER: OpenAPIResponseHeader = {
    "description": "Entity tag of this representation; send it back in If-None-Match.",
    "schema": {"type": "string"},
}


def conditional_responses(model: Any, description: str) -> dict[int, OpenAPIResponse]:
    """OpenAPI responses of a conditional GET: 200 with ETag, 304, and the shared errors."""
    return {
        200: {
            "description": description,
            "headers": {"ETag": _ETAG_HEADER},
            "content": {"application/json": {"model": model}},
        },
        304: {
            "description": "The client's copy (If-None-Match) is current; no body.",
            "headers": {"ETag": _ETAG_HEADER},
            "content": {},
        },
        **ERROR_RESPONSES,
    }


_LINK_HEADER: OpenAPIResponseHeader = {
    "description": 'The next page, when there is one: `</api/…?limit=N&after=…>; rel="next"`.',
    "schema": {"type": "string"},
}


def paged_responses(responses: dict[int, OpenAPIResponse]) -> dict[int, OpenAPIResponse]:
    """The same responses, the 200 also carrying the Link header of the next page."""
    ok: OpenAPIResponse = {**responses[200]}
    ok["headers"] = {**responses[200].get("headers", {}), "Link": _LINK_HEADER}
    return {**responses, 200: ok}
