"""The database's half of idempotency (migration 0010's `write_requests`).

Powertools' DynamoDB record answers a retry in the common case. This row answers it when the
first attempt committed but its answer never reached DynamoDB (the function died or DynamoDB
did not answer between the commit and the record): the row is written in the write's own
transaction, so it exists exactly when the write does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg


@dataclass(frozen=True, slots=True)
class Earlier:
    """A committed write of the same request id."""

    request_hash: str
    answer_json: str  # the answer's JSON text, exact numbers as written


def claim(
    connection: psycopg.Connection[Any], request_id: UUID, operation: str, request_hash: str
) -> Earlier | None:
    """Take the request id inside the caller's transaction; the earlier write when one
    committed. A concurrent attempt holding the id makes this wait for its commit (then it
    is Earlier) or its rollback (then the id is ours)."""
    taken = connection.execute(
        "INSERT INTO write_requests (id, operation, request_hash) VALUES (%s, %s, %s)"
        " ON CONFLICT (id) DO NOTHING RETURNING id",
        (request_id, operation, request_hash),
    ).fetchone()
    if taken is not None:
        return None
    row = connection.execute(
        "SELECT request_hash, answer::text FROM write_requests WHERE id = %s", (request_id,)
    ).fetchone()
    if row is None:  # deleted between the two statements (retention): the id is free again
        return claim(connection, request_id, operation, request_hash)
    values = list(row.values()) if isinstance(row, dict) else list(row)
    return Earlier(request_hash=values[0], answer_json=values[1])


def record_answer(connection: psycopg.Connection[Any], request_id: UUID, answer_json: str) -> None:
    """The answer the write gave, as JSON text, in its transaction (jsonb keeps numbers
    exact, and `answer::text` gives them back as written)."""
    connection.execute(
        "UPDATE write_requests SET answer = %s::jsonb WHERE id = %s", (answer_json, request_id)
    )
