"""Scans of the cooldown table: live entries counted by type, and entries deleted in bulk.

Both read every entry, so only the operator's endpoints use them (statistics and clearing),
never a monitor run. Digest items have no `type` attribute, so both leave them alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from uuid import UUID

from inventory.data.cooldowns.dynamodb_batches import BATCH_WRITE_LIMIT, write_all
from inventory.data.cooldowns.dynamodb_client import PARTITION_KEY, TTL_ATTRIBUTE, partition_key_of
from inventory.errors import DependencyUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def _scan(
    client: DynamoDBClient,
    table: str,
    projection: str,
    names: dict[str, str],
    condition: str,
    values: dict[str, Any],
) -> Iterator[dict[str, Any]]:
    arguments: dict[str, Any] = {
        "TableName": table,
        "ProjectionExpression": projection,
        "ExpressionAttributeNames": names,
        "FilterExpression": condition,
    }
    if values:  # DynamoDB refuses an empty ExpressionAttributeValues
        arguments["ExpressionAttributeValues"] = values
    for page in client.get_paginator("scan").paginate(**arguments):
        yield from page.get("Items", [])


def count_live_by_type(client: DynamoDBClient, table: str, now_epoch: int) -> dict[str, int]:
    """Live entries (expires_at > now) by type: a paginated Scan reading only the type."""
    counts: Counter[str] = Counter()
    for item in _scan(
        client,
        table,
        "#type",
        {"#type": "type", "#expires_at": TTL_ATTRIBUTE},
        "#expires_at > :now AND attribute_exists(#type)",
        {":now": {"N": str(now_epoch)}},
    ):
        counts[item["type"]["S"]] += 1
    return dict(counts)


def delete_matching(
    client: DynamoDBClient,
    table: str,
    type: str | None,
    reference_id: UUID | None,
    max_workers: int,
) -> int:
    """Delete the entries of one type, one reference, both or all; returns how many."""
    if type is not None and reference_id is not None:
        answer = client.delete_item(
            TableName=table,
            Key={PARTITION_KEY: {"S": partition_key_of(type, reference_id)}},
            ReturnValues="ALL_OLD",
        )
        return 1 if answer.get("Attributes") else 0
    conditions = ["attribute_exists(#type)"]
    names = {"#pk": PARTITION_KEY, "#type": "type"}
    values: dict[str, Any] = {}
    if type is not None:
        conditions.append("#type = :type")
        values[":type"] = {"S": type}
    if reference_id is not None:
        conditions.append("#reference_id = :reference_id")
        names["#reference_id"] = "reference_id"
        values[":reference_id"] = {"S": str(reference_id)}
    keys = [
        item[PARTITION_KEY]["S"]
        for item in _scan(client, table, "#pk", names, " AND ".join(conditions), values)
    ]
    _delete_keys(client, table, keys, max_workers)
    return len(keys)


def _delete_keys(client: DynamoDBClient, table: str, keys: Sequence[str], max_workers: int) -> None:
    """BatchWriteItem deletes of 25 keys each, sent concurrently like claims: a large
    catalogue's entries cleared one batch after another would outlast the function."""
    batches = [
        [
            {"DeleteRequest": {"Key": {PARTITION_KEY: {"S": k}}}}
            for k in keys[start : start + BATCH_WRITE_LIMIT]
        ]
        for start in range(0, len(keys), BATCH_WRITE_LIMIT)
    ]
    if not batches:
        return

    def delete(batch: Sequence[Any]) -> None:
        if not write_all(client, table, batch):
            raise DependencyUnavailableError("The cooldown table kept throttling deletes.")

    with ThreadPoolExecutor(max_workers=min(max_workers, len(batches))) as pool:
        # list() re-raises the first failure (a throttled or unreachable table).
        list(pool.map(delete, batches))
