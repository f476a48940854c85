"""What a response or a log line may say about a failure."""

from __future__ import annotations

import psycopg

from inventory.errors import InventoryError


def describe_failure(error: Exception) -> str:
    """A reason fit for a response: the domain message, or the driver's primary message.

    Never the statement text or parameters.
    """
    if isinstance(error, InventoryError):
        return str(error)
    if isinstance(error, psycopg.Error):
        primary = error.diag.message_primary
        return f"{type(error).__name__}: {primary}" if primary else type(error).__name__
    return type(error).__name__
