"""Domain errors and every error code the API answers. The HTTP layer maps each class to one
status code, in one place (http.py); README's error table says when each is used.

The rule: 400 `malformed_request` when the request is not in the shape the route takes (not
JSON, not an object, a field missing or unknown, a value of the wrong type); 422 when the shape
is right but a value is refused (`validation_error`: out of range, not an allowed value, a
contradictory combination; `unknown_items`, `response_too_large`: what the data refuses).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal


class ErrorCode(StrEnum):
    MALFORMED_REQUEST = "malformed_request"  # 400
    UNAUTHORIZED = "unauthorized"  # 401
    NOT_FOUND = "not_found"  # 404: the id names no row
    ROUTE_NOT_FOUND = "route_not_found"  # 404
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"  # 415
    VALIDATION_ERROR = "validation_error"  # 422
    UNKNOWN_ITEMS = "unknown_items"  # 422: a cart names ids that do not exist
    RESPONSE_TOO_LARGE = "response_too_large"  # 422: page with ?limit=
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"  # 422: same key, another body
    INSUFFICIENT_STOCK = "insufficient_stock"  # 409: a sale the stock cannot cover
    ITEMS_INACTIVE = "items_inactive"  # 409: a sale of a package or product switched off
    IDEMPOTENCY_IN_PROGRESS = "idempotency_in_progress"  # 409: the same key still running
    INTERNAL_ERROR = "internal_error"  # 500
    CONFIGURATION_ERROR = "configuration_error"  # 500
    DEPENDENCY_UNAVAILABLE = "dependency_unavailable"  # 503


Location = Literal["body", "query", "path", "header"]


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One refused field: where it is (a JSON pointer into the body, or a parameter's name)."""

    location: Location
    field: str
    message: str


class InventoryError(Exception):
    """Base class of every expected failure the service reports to a caller."""

    code = ErrorCode.INTERNAL_ERROR

    def __init__(
        self,
        message: str,
        *,
        details: Sequence[FieldProblem] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.details = tuple(details)
        # More members of the error object, JSON-ready (a refused sale's `shortages`).
        self.extra: Mapping[str, Any] = extra or {}


class ConfigurationError(InventoryError):
    """An environment variable holds a value the service cannot work with."""

    code = ErrorCode.CONFIGURATION_ERROR


class NotFoundError(InventoryError):
    """The id in the request names no row."""

    code = ErrorCode.NOT_FOUND


class UnauthorizedError(InventoryError):
    """Missing or wrong credentials (HTTP 401)."""

    code = ErrorCode.UNAUTHORIZED


class InvalidRequestError(InventoryError):
    """A request in the right shape whose values are refused (HTTP 422)."""

    code = ErrorCode.VALIDATION_ERROR


class MalformedRequestError(InventoryError):
    """A request not in the shape the route takes (HTTP 400)."""

    code = ErrorCode.MALFORMED_REQUEST


class DependencyUnavailableError(InventoryError):
    """PostgreSQL or DynamoDB did not answer (HTTP 503)."""

    code = ErrorCode.DEPENDENCY_UNAVAILABLE


class DatabaseUnreachableError(DependencyUnavailableError):
    """No connection to PostgreSQL could be opened: nothing was sent to it."""


class ConflictError(InventoryError):
    """The request is right but the data's state refuses it now (HTTP 409)."""


class InsufficientStockError(ConflictError):
    """A sale needs more than the usable stock and overselling is not allowed."""

    code = ErrorCode.INSUFFICIENT_STOCK


class ItemsInactiveError(ConflictError):
    """A sale names a package or product that is switched off."""

    code = ErrorCode.ITEMS_INACTIVE


class IdempotencyInProgressError(ConflictError):
    """Another request with the same Idempotency-Key is still running (retry: Retry-After)."""

    code = ErrorCode.IDEMPOTENCY_IN_PROGRESS


class IdempotencyKeyReusedError(InvalidRequestError):
    """The Idempotency-Key was used for a different body (HTTP 422)."""

    code = ErrorCode.IDEMPOTENCY_KEY_REUSED
