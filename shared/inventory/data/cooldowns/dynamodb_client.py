"""The cooldown table's keys, the DynamoDB client the store uses, and how its faults are
recognised and told."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from inventory.data.aws_clients import fail_fast_config
from inventory.failures import describe_failure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

PARTITION_KEY = "pk"  # template.yaml's CooldownTable KeySchema; tests build the table from it
TTL_ATTRIBUTE = "expires_at"


def partition_key_of(type_value: str, reference_id: UUID) -> str:
    """The table's key of one (type, reference): `<type>#<reference id>`."""
    return f"{type_value}#{reference_id}"


# A dead endpoint must fail a claim within seconds, well inside any function's timeout: short
# timeouts and one retry (standard mode backs off briefly for DynamoDB).
_CONNECT_TIMEOUT_SECONDS = 2
_READ_TIMEOUT_SECONDS = 3
_TOTAL_ATTEMPTS = 2
# Concurrent requests per run; the client's connection pool is sized to match.
MAX_WORKERS = 16


def describe_dynamodb_error(error: Exception) -> str:
    """The reason a DynamoDB call failed, for logs and run summaries (failures.describe_failure)."""
    # ValueError: boto3 rejects a malformed AWS_ENDPOINT_URL_DYNAMODB when the client is built.
    if isinstance(error, ValueError):
        return f"DynamoDB unreachable: {error}"
    return f"DynamoDB {describe_failure(error)}"


def is_conditional_check_failure(error: Exception) -> bool:
    from botocore.exceptions import ClientError

    return (
        isinstance(error, ClientError)
        and error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
    )


def may_have_landed(error: Exception) -> bool:
    """Whether a write that raised may still have been done: the request reached DynamoDB but
    its answer did not reach us (a read timeout, a closed connection, a 5xx)."""
    from botocore.exceptions import ClientError, ConnectionError

    if isinstance(error, ClientError):
        return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)) >= 500
    # ConnectionError: nothing was sent. ValueError: the client was never built.
    return not isinstance(error, ConnectionError | ValueError)


def dynamodb_errors() -> tuple[type[Exception], ...]:
    """What a call to DynamoDB raises when it is refused or unreachable."""
    from botocore.exceptions import BotoCoreError, ClientError

    # ValueError: boto3 rejects a malformed AWS_ENDPOINT_URL_DYNAMODB when the client is built.
    return (ClientError, BotoCoreError, ValueError)


def create_dynamodb_client() -> DynamoDBClient:
    """A DynamoDB client that fails fast; boto3 reads AWS_ENDPOINT_URL_DYNAMODB itself."""
    # Imported here: boto3 is a large part of a cold start and only cooldown users need it.
    import boto3

    config = fail_fast_config(
        connect_seconds=_CONNECT_TIMEOUT_SECONDS,
        read_seconds=_READ_TIMEOUT_SECONDS,
        attempts=_TOTAL_ATTEMPTS,
        pool=MAX_WORKERS,
    )
    return boto3.client("dynamodb", config=config)
