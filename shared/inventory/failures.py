"""What a response or a log line may say about a failure: one description for every fault."""

from __future__ import annotations

import sys

import psycopg

from inventory.errors import InventoryError


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
