"""Idempotent writes (SPEC §11): Powertools' Idempotency utility over DynamoDB, with the
database's own record (`data/write_requests.py`) beneath it.

How a request with an `Idempotency-Key` is answered:
- Powertools keeps one DynamoDB record per (operation, caller, key): the first request runs
  the write and stores its answer; a retry with the same body gets that answer without
  running it; another body is a 422 `idempotency_key_reused`; a retry while the first is
  still running is a 409 `idempotency_in_progress` with `Retry-After`.
- The write takes the same id in PostgreSQL, in its own transaction. If the first attempt
  committed and then died (or DynamoDB did not answer) before Powertools stored the answer,
  the DynamoDB record stays "in progress" until the invocation's time is up (its context is
  registered), and the next retry runs the write again: the write finds its committed id and
  answers what the first attempt answered. So a sale is recorded once whatever dies when.
- A write that fails (409 insufficient stock, 503) leaves no record: a retry runs it again.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import psycopg
from pydantic import BaseModel

from inventory.callers import Caller
from inventory.data import stock_events, write_requests
from inventory.data.idempotency_records import persistence_layer
from inventory.data.write_requests import Earlier
from inventory.errors import (
    DependencyUnavailableError,
    FieldProblem,
    IdempotencyInProgressError,
    IdempotencyKeyReusedError,
    MalformedRequestError,
)
from inventory.models.numbers import exact_json
from inventory.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from inventory.rules.stock_events import StockChanged

IDEMPOTENCY_KEY_DESCRIPTION = (
    "Required. A key unique to this write (a UUID), 1 to 255 printable ASCII characters; "
    "send the same key when retrying it. Keys are the caller's own: two callers never share."
)
HEADER = "idempotency-key"  # HTTP API v2 events carry header names in lower case
# Printable ASCII without spaces at the ends; Stripe and Square take up to 255 / 192.
_KEY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?")
# A retry within a day gets the stored answer from DynamoDB; later ones from PostgreSQL.
RECORD_HOURS = 24
_NAMESPACE = uuid.UUID("6f1b6c7e-4f0a-4d8e-9a51-2c3f1f0d7a10")


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """One write as idempotency sees it: who asked what, under which key."""

    operation: str  # "sale", "stock-movement": one record space each
    caller: str
    key: str
    body_hash: str

    @property
    def request_id(self) -> uuid.UUID:
        """The write's id in PostgreSQL: the same for every retry of this key by this caller."""
        return uuid.uuid5(_NAMESPACE, f"{self.operation}\n{self.caller}\n{self.key}")


def idempotency_key(headers: Mapping[str, str] | None) -> str:
    """The request's Idempotency-Key; MalformedRequestError (400) when missing or unusable."""
    value = (headers or {}).get(HEADER)
    if value is None or not _KEY.fullmatch(value):
        raise MalformedRequestError(
            "The Idempotency-Key header is required: 1 to 255 printable ASCII characters, "
            "unique per write (a UUID does). Retry a write with the same key.",
            details=[FieldProblem("header", "Idempotency-Key", "missing or not a usable key")],
        )
    return value


def replayed(earlier: Earlier, request: IdempotentRequest) -> str:
    """The answer of the committed write `write_requests.claim` found for this request's id:
    its stored JSON text for the same body, IdempotencyKeyReusedError (422) for another."""
    if earlier.request_hash != request.body_hash:
        raise _key_reused()
    return earlier.answer_json


def _key_reused() -> IdempotencyKeyReusedError:
    return IdempotencyKeyReusedError(
        "This Idempotency-Key was used for a different request; use a new key for a new write.",
        details=[FieldProblem("header", "Idempotency-Key", "used for another body")],
    )


def body_hash(canonical_body: Any) -> str:
    """The hash that tells two bodies apart: of the validated body, so formatting differences
    of one request (spacing, key order, 2 or 2.0) are the same request."""
    text = json.dumps(canonical_body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def request_of(operation: str, caller: Caller, key: str, canonical_body: Any) -> IdempotentRequest:
    # Both identifiers: one app client's subjects, or one subject's clients, never share keys.
    return IdempotentRequest(
        operation=operation,
        caller=f"{caller.client_id or ''}|{caller.sub or ''}",
        key=key,
        body_hash=body_hash(canonical_body),
    )


@cache
def _config() -> IdempotencyConfig:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="[operation, caller, key]",
        payload_validation_jmespath="body_hash",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=RECORD_HOURS * 3600,
        hash_function="sha256",
    )


def run_once(
    request: IdempotentRequest, write: Callable[[], str], context: LambdaContext | None
) -> str:
    """The answer (JSON text) of the write this request names: `write()`'s, run at most once
    per key, or the stored one. Errors as module docstring says; DynamoDB not answering is a
    DependencyUnavailableError (503)."""
    from aws_lambda_powertools.utilities.idempotency import idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    config = _config()
    if context is not None:
        # The in-progress record then ends with the invocation, so a retry after a crash
        # runs the write again (and finds it committed) instead of waiting a day.
        config.register_lambda_context(context)

    def written(request: dict[str, str]) -> dict[str, str]:
        return {"answer": write()}

    once: Callable[..., dict[str, str]] = idempotent_function(
        written,
        data_keyword_argument="request",
        persistence_store=persistence_layer(request.operation),
        config=config,
        key_prefix=request.operation,
    )

    try:
        stored = once(
            request={
                "operation": request.operation,
                "caller": request.caller,
                "key": request.key,
                "body_hash": request.body_hash,
            }
        )
    except IdempotencyValidationError:
        raise _key_reused() from None
    except IdempotencyAlreadyInProgressError:
        raise IdempotencyInProgressError(
            "A request with this Idempotency-Key is still being processed; retry shortly."
        ) from None
    except IdempotencyPersistenceLayerError as error:
        raise DependencyUnavailableError(
            "The idempotency store (DynamoDB) did not answer; retry with the same key."
        ) from error
    return str(stored["answer"])


_Answer = TypeVar("_Answer", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Recorded(Generic[_Answer]):
    """A write's outcome in PostgreSQL: its answer's JSON text; the answer itself and the
    stock.changed event it owes when it was written now (None for both: a replay)."""

    text: str
    answer: _Answer | None
    event_id: uuid.UUID | None


def stock_write(
    connection: psycopg.Connection[Any],
    request: IdempotentRequest,
    write: Callable[[], tuple[_Answer, StockChanged]],
) -> Recorded[_Answer]:
    """One transaction of a stock write: the request's id taken (`write_requests`: the
    committed answer of an earlier attempt, or a 422 for another body), `write()` (the
    change, its answer and its event), the answer stored and the event owed. Any error rolls
    it all back."""
    with connection.transaction():
        earlier = write_requests.claim(
            connection, request.request_id, request.operation, request.body_hash
        )
        if earlier is not None:
            logger.info(
                "Write answered from its committed record",
                extra={"operation": request.operation, "request_id": str(request.request_id)},
            )
            return Recorded(replayed(earlier, request), None, None)
        answer, event = write()
        text = exact_json(answer.model_dump_json().encode()).decode()
        write_requests.record_answer(connection, request.request_id, text)
        return Recorded(text, answer, stock_events.insert(connection, event))
