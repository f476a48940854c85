"""The resolver factory, the response envelope and the exception -> HTTP mapping, in one place.

Every function builds its app with `build_app()`, so every endpoint answers errors the same
way: `{"success": false, "error": {"code", "message"}}` with the right status and never a
stack trace, SQL or secret.
"""

from __future__ import annotations

import binascii
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.shared.json_encoder import Encoder

from inventory.errors import (
    ConfigurationError,
    ConflictError,
    DependencyUnavailableError,
    ErrorCode,
    FieldProblem,
    IdempotencyInProgressError,
    InvalidRequestError,
    InventoryError,
    MalformedRequestError,
    NotFoundError,
    UnauthorizedError,
)
from inventory.models.envelope import ErrorDetail, ErrorEnvelope, FieldError
from inventory.models.gateway import GatewayThrottled
from inventory.models.numbers import exact_json
from inventory.observability import logger
from inventory.request_problems import refusal

# Documented on every route so the OpenAPI document describes the error shape.
ERROR_RESPONSES: dict[int, OpenAPIResponse] = {
    status: {
        "description": description,
        "content": {"application/json": {"model": ErrorEnvelope}},
    }
    for status, description in (
        (400, "Malformed parameter or body"),
        (404, "Unknown id or route"),
        (422, "Well-formed but invalid request"),
        (503, "A dependency (PostgreSQL, DynamoDB) is unavailable"),
        (500, "Unexpected failure; the details are in the log, never in the response"),
    )
}
# A 503 says when to try again (_on_dependency_down); a 429 is API Gateway's own throttling
# answer, sent before any handler runs.
ERROR_RESPONSES[503]["headers"] = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
}
ERROR_RESPONSES[429] = {
    "description": "Throttled by API Gateway (the route's rate or burst limit); retry later",
    "content": {"application/json": {"model": GatewayThrottled}},
}


# Writes under an Idempotency-Key: a retry answers the first write; these are its refusals.
IDEMPOTENT_WRITE_RESPONSES: dict[int, OpenAPIResponse] = {
    409: {
        "description": "`idempotency_in_progress`: the first request with this key is still "
        "running; retry after Retry-After seconds with the same key.",
        "content": {"application/json": {"model": ErrorEnvelope}},
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before retrying with the same key.",
                "schema": {"type": "integer"},
            }
        },
    },
    422: {
        "description": "A refused value, or `idempotency_key_reused`: the key was used for "
        "another body.",
        "content": {"application/json": {"model": ErrorEnvelope}},
    },
}

# Routes that take a body also answer 415.
BODY_ERROR_RESPONSES: dict[int, OpenAPIResponse] = {
    **ERROR_RESPONSES,
    415: {
        "description": "A request body sent as anything but application/json",
        "content": {"application/json": {"model": ErrorEnvelope}},
    },
}


def error_response(
    status: HTTPStatus,
    code: ErrorCode,
    message: str,
    headers: dict[str, str] | None = None,
    details: Sequence[FieldProblem] = (),
    extra: Mapping[str, Any] | None = None,
) -> Response[str]:
    detail = ErrorDetail(code=code, message=message, details=[FieldError.of(d) for d in details])
    envelope = ErrorEnvelope(error=detail)
    if extra:
        document = envelope.model_dump(mode="json")
        document["error"].update(extra)
        body = _serialize(document)
    else:
        body = envelope.model_dump_json()
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers=headers,
    )


def _on_validation(
    app: APIGatewayHttpResolver,
) -> Callable[[RequestValidationError], Response[str]]:
    def handle(error: RequestValidationError) -> Response[str]:
        document = _parsed_body(app)
        if app.current_event.body and document is not None and not isinstance(document, dict):
            # Powertools validated a one-element list as its element: the shape is wrong first.
            return _on_domain_error(HTTPStatus.BAD_REQUEST)(_not_an_object())
        answer = refusal(error.errors(), document)
        return error_response(answer.status, answer.code, answer.message, details=answer.details)

    return handle


def _not_an_object() -> MalformedRequestError:
    return MalformedRequestError(
        "The request body must be a JSON object.",
        details=[FieldProblem("body", "", "not a JSON object")],
    )


def _parsed_body(app: APIGatewayHttpResolver) -> Any:
    """The body as JSON, to name refused fields by; None when it is none or not JSON."""
    try:
        return app.current_event.json_body if app.current_event.body else None
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return None


UNSUPPORTED_MEDIA_TYPE_MESSAGE = (
    "The request body must be JSON sent with 'Content-Type: application/json'."
)


def _unsupported_media_type() -> Response[str]:
    return error_response(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        UNSUPPORTED_MEDIA_TYPE_MESSAGE,
    )


def _on_unsupported_media_type(_: RequestUnsupportedContentType) -> Response[str]:
    # Powertools' own refusal: an empty body under a Content-Type it does not parse.
    return _unsupported_media_type()


def _on_undecodable_body(_: Exception) -> Response[str]:
    return error_response(
        HTTPStatus.BAD_REQUEST,
        ErrorCode.MALFORMED_REQUEST,
        "The request body is not valid UTF-8 text.",
    )


def _on_domain_error(status: HTTPStatus) -> Callable[[InventoryError], Response[str]]:
    def handle(error: InventoryError) -> Response[str]:
        return error_response(
            status, error.code, str(error), details=error.details, extra=error.extra
        )

    return handle


def _on_in_progress(error: IdempotencyInProgressError) -> Response[str]:
    # The first request of the key usually ends within a second.
    return error_response(HTTPStatus.CONFLICT, error.code, str(error), headers={"Retry-After": "1"})


def _on_unauthorized(error: UnauthorizedError) -> Response[str]:
    return error_response(
        HTTPStatus.UNAUTHORIZED, error.code, str(error), headers={"WWW-Authenticate": "Bearer"}
    )


def _on_dependency_down(error: DependencyUnavailableError) -> Response[str]:
    logger.warning("Dependency unavailable", extra={"reason": str(error)})
    return error_response(
        HTTPStatus.SERVICE_UNAVAILABLE, error.code, str(error), headers={"Retry-After": "5"}
    )


def _on_configuration(error: ConfigurationError) -> Response[str]:
    logger.error("Configuration error", extra={"reason": str(error)})
    return error_response(
        HTTPStatus.INTERNAL_SERVER_ERROR, error.code, "The service is misconfigured."
    )


def _on_route_not_found(_: RouteNotFoundError) -> Response[str]:
    return error_response(HTTPStatus.NOT_FOUND, ErrorCode.ROUTE_NOT_FOUND, "No such route.")


def _on_unexpected(_: Exception) -> Response[str]:
    # The traceback goes to the log (with the request id); the caller gets a plain message.
    logger.exception("Unhandled error")
    return error_response(
        HTTPStatus.INTERNAL_SERVER_ERROR, ErrorCode.INTERNAL_ERROR, "An unexpected error occurred."
    )


# Looked up by the exception's MRO, so the most specific entry wins whatever the order.
_HANDLERS: list[tuple[type[Exception] | list[type[Exception]], Callable[[Any], Response[str]]]] = [
    (RequestUnsupportedContentType, _on_unsupported_media_type),
    ([UnicodeDecodeError, binascii.Error], _on_undecodable_body),
    (MalformedRequestError, _on_domain_error(HTTPStatus.BAD_REQUEST)),
    (NotFoundError, _on_domain_error(HTTPStatus.NOT_FOUND)),
    (UnauthorizedError, _on_unauthorized),
    (InvalidRequestError, _on_domain_error(HTTPStatus.UNPROCESSABLE_ENTITY)),
    (ConflictError, _on_domain_error(HTTPStatus.CONFLICT)),
    (IdempotencyInProgressError, _on_in_progress),
    (DependencyUnavailableError, _on_dependency_down),
    (ConfigurationError, _on_configuration),
    (RouteNotFoundError, _on_route_not_found),
    (Exception, _on_unexpected),
]


def parse_json_body(text: str) -> Any:
    """A request body as JSON, its numbers with a fraction or exponent read as exact Decimals.

    JSON that Python cannot hold (nested beyond the recursion limit, an integer beyond its digit
    limit) is a malformed body like any other: JSONDecodeError, which validation answers with a
    400, never a RecursionError that would be a 500.
    """
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError:
        raise
    except (RecursionError, ValueError):
        raise json.JSONDecodeError(
            "nested too deeply, or a number too long to read", text, 0
        ) from None


def reject_unknown_query_parameters(event: Any, allowed: set[str]) -> None:
    """MalformedRequestError (400) naming the query parameters a route does not take: on a
    destructive route a misspelt filter must not widen what it does."""
    unknown = sorted(set(event.query_string_parameters or {}) - allowed)
    if unknown:
        raise MalformedRequestError(
            f"Unknown query parameter(s); this route takes {', '.join(sorted(allowed))}.",
            details=[FieldProblem("query", name, "unknown parameter") for name in unknown],
        )


def _is_json_media_type(content_type: str) -> bool:
    """`application/json`, with or without parameters (`; charset=utf-8`)."""
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def _refuses_body_type(event: Mapping[str, Any]) -> bool:
    """A body sent as anything but JSON. Without a Content-Type a body is read as JSON, as
    Powertools does; form and multipart bodies are refused before Powertools parses them as
    forms (this API has none)."""
    method = (event.get("requestContext") or {}).get("http", {}).get("method", "")
    if method not in ("POST", "PUT", "PATCH") or not event.get("body"):
        return False
    # HTTP API v2 events carry header names in lower case, as Powertools reads them.
    content_type = str((event.get("headers") or {}).get("content-type", "")).strip()
    return bool(content_type) and not _is_json_media_type(content_type)


_ROUTE_SIGNATURE = inspect.signature(APIGatewayHttpResolver.route)


class _DocumentedResolver(APIGatewayHttpResolver):
    """Keeps the success response in the OpenAPI document of routes that list error responses.

    Powertools documents the return annotation only when a route passes no `responses`; ours
    pass ERROR_RESPONSES, so the success status is added back without content, which
    Powertools then fills from the return annotation.
    """

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        if _refuses_body_type(event):
            return {
                "statusCode": HTTPStatus.UNSUPPORTED_MEDIA_TYPE.value,
                "isBase64Encoded": False,
                "headers": {"Content-Type": content_types.APPLICATION_JSON},
                "cookies": [],
                "body": _unsupported_media_type().body,
            }
        return super().resolve(event, context)

    def route(self, *args: Any, **kwargs: Any) -> Any:
        # get()/post() pass everything positionally, so bind to find `responses`.
        bound = _ROUTE_SIGNATURE.bind(self, *args, **kwargs)
        responses = bound.arguments.get("responses")
        status = int(bound.arguments.get("status_code", HTTPStatus.OK))
        if responses and not any(200 <= int(code) < 300 for code in responses):
            bound.arguments["responses"] = {status: {"description": "Success"}, **responses}
        return super().route(*bound.args[1:], **bound.kwargs)


def _require_json_object_body(
    app: APIGatewayHttpResolver, next_middleware: NextMiddleware
) -> Response[Any]:
    """Every body this API accepts is a JSON object.

    Powertools unwraps a one-element list into its element when it validates a body (a rule
    meant for form fields), so `[null]` or `[{...}]` could pass as a valid object. This runs
    after request validation, so it only has to catch what validation let through.
    """
    event = app.current_event
    if event.http_method in ("POST", "PUT", "PATCH") and event.body:
        try:
            parsed = event.json_body  # parsed once by validation and cached on the event
        except ValueError:
            return next_middleware(app)  # request validation answers it with a 400
        if not isinstance(parsed, dict):
            raise _not_an_object()
    return next_middleware(app)


def _serialize(value: Any) -> str:
    """The resolver's serializer: Powertools' own (compact JSON), Quantities written exact."""
    text = json.dumps(value, separators=(",", ":"), cls=Encoder)
    return exact_json(text.encode()).decode() if "\\u0000" in text else text


def build_app(*, debug: bool | None = None) -> APIGatewayHttpResolver:
    """An HTTP API resolver with request/response validation and the shared error mapping.

    A response that fails its own schema is our bug, so it is a 500, not the default 422.
    `debug=False` keeps POWERTOOLS_DEV from printing whole events (a route that receives a
    secret in its query string must never print it).
    """
    app = _DocumentedResolver(
        debug=debug,
        enable_validation=True,
        response_validation_error_http_code=HTTPStatus.INTERNAL_SERVER_ERROR,
        json_body_deserializer=parse_json_body,
        serializer=_serialize,
    )
    app.exception_handler(RequestValidationError)(_on_validation(app))
    for exceptions, handler in _HANDLERS:
        app.exception_handler(exceptions)(handler)
    app.use(middlewares=[_require_json_object_body])
    return app
