"""Page cursors: a sort key of (text, id) as URL-safe base64 of a two-item JSON list.

Shared by every keyset-paged list (availability, inbox). A cursor is opaque to clients; one
that is not ours is a 400 naming `after`, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

from inventory.errors import FieldProblem, MalformedRequestError

_Key = TypeVar("_Key")


def encode(text: str, id: UUID) -> str:
    raw = json.dumps([text, str(id)], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str, read: Callable[[object, UUID], _Key]) -> _Key:
    """`read(text, id)` of the pair a cursor holds; MalformedRequestError (400) when it is not
    one of ours (`read` raises ValueError or TypeError for a text that is not)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        text, id = json.loads(raw)
        return read(text, UUID(id))
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, AttributeError):
        raise MalformedRequestError(
            "Query parameter 'after' is not a cursor from a previous page's Link header.",
            details=[FieldProblem("query", "after", "not a cursor from a Link header")],
        ) from None
