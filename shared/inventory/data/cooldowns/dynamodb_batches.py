"""DynamoDB's batch calls with their partial answers resent.

Under load DynamoDB may process only part of a BatchGetItem or BatchWriteItem and hand the
rest back (UnprocessedKeys / UnprocessedItems) to be sent again; the cooldown entries and the
digest both read and write through these two helpers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

BATCH_GET_LIMIT = 100  # keys per BatchGetItem
BATCH_WRITE_LIMIT = 25  # requests per BatchWriteItem
ROUNDS = 5  # sends of one batch, its unprocessed part included


def get_all(client: DynamoDBClient, table: str, request: dict[str, Any]) -> list[dict[str, Any]]:
    """The items `request` (the table's KeysAndAttributes, at most 100 keys) names; what stays
    unprocessed after ROUNDS sends is left out, for the caller to treat as unread."""
    items: list[dict[str, Any]] = []
    pending: Any = {table: request}
    for _ in range(ROUNDS):
        answer = client.batch_get_item(RequestItems=pending)
        items.extend(answer.get("Responses", {}).get(table, []))
        pending = answer.get("UnprocessedKeys") or {}
        if not pending:
            break
    return items


def write_all(client: DynamoDBClient, table: str, requests: Sequence[Any]) -> bool:
    """Every put or delete request, 25 per call; False when some stayed unprocessed."""
    for start in range(0, len(requests), BATCH_WRITE_LIMIT):
        pending = list(requests[start : start + BATCH_WRITE_LIMIT])
        for _ in range(ROUNDS):
            answer = client.batch_write_item(RequestItems={table: pending})
            pending = list(answer.get("UnprocessedItems", {}).get(table, []))
            if not pending:
                break
        else:
            return False
    return True
