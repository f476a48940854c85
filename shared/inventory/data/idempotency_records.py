"""Powertools' idempotency records in DynamoDB (the template's IdempotencyTable): one
persistence layer per operation, so each keeps its own key prefix."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from inventory.config import get_settings
from inventory.data.aws_clients import fail_fast_config

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

# A write route spends at most about 6 s here (two attempts of 1 s to connect, 2 s to
# read) before answering 503, inside the function's 15 s with the database's 12 s bound.
_CONNECT_TIMEOUT_SECONDS = 1.0
_READ_TIMEOUT_SECONDS = 2.0
_TOTAL_ATTEMPTS = 2


@cache
def persistence_layer(operation: str) -> DynamoDBPersistenceLayer:
    """The layer of one operation's records; boto3 reads AWS_ENDPOINT_URL_DYNAMODB itself."""
    # Imported here: boto3 is a large part of a cold start.
    import boto3
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    client = boto3.client(
        "dynamodb",
        config=fail_fast_config(
            connect_seconds=_CONNECT_TIMEOUT_SECONDS,
            read_seconds=_READ_TIMEOUT_SECONDS,
            attempts=_TOTAL_ATTEMPTS,
        ),
    )
    return DynamoDBPersistenceLayer(
        table_name=get_settings().idempotency_table_name, boto3_client=client
    )
