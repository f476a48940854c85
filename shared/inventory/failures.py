"""What a response or a log line may say about a failure: one description for every fault."""

from __future__ import annotations

import sys

import psycopg

from inventory.errors import DatabaseUnreachableError, InventoryError


def describe_failure(error: Exception) -> str:
    """A reason fit for a response: the domain message, the driver's primary message, or the
    AWS error code and message. Never the statement text, parameters or a stack trace."""
    if isinstance(error, InventoryError):
        return str(error)
    if isinstance(error, psycopg.Error):
        primary = error.diag.message_primary
        return f"{type(error).__name__}: {primary}" if primary else type(error).__name__
    aws = _describe_aws_failure(error)
    return aws if aws is not None else type(error).__name__


def _describe_aws_failure(error: Exception) -> str | None:
    # botocore is imported only by the functions that talk to AWS: when it is not loaded, the
    # error cannot be one of its own (and this import costs nothing at cold start).
    exceptions = sys.modules.get("botocore.exceptions")
    if exceptions is None:
        return None
    if isinstance(error, exceptions.ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Unknown')}: {details.get('Message', '')}".strip()
    if isinstance(error, exceptions.BotoCoreError):
        return f"unreachable: {error}"
    return None


def may_have_committed(error: BaseException) -> bool:
    """Whether a database write that raised may have been committed all the same: a statement
    reached the server and its answer never came back (the connection broke or was cut at a
    deadline). An error the server answered with means the statement rolled back; a failed
    connect, or a fault before any statement, sent nothing."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DatabaseUnreachableError):
            return False
        if isinstance(current, psycopg.Error):
            return isinstance(current, psycopg.OperationalError) and current.sqlstate is None
        current = current.__cause__ or current.__context__
    return False
