"""The inbox (SPEC §9): pages of notifications newest first, one by id, read marks.

Pages work as the availability list's (services/availability_pages.py): `?limit=` and the
`Link: <…>; rel="next"` header, whose opaque cursor names the last row seen by its sort key
(created_at, id), never a position, so new notifications arriving on top between two requests
neither repeat nor hide any (data/notification_inbox.py says why). Every page is read from
PostgreSQL (an index range scan of `limit` + 1 entries); its ETag is a digest of what it shows,
including whether a next page follows, so a 304 is answered only while the client's copy is
exactly the current page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg
from pydantic import TypeAdapter

from inventory.callers import Caller
from inventory.data import notification_inbox
from inventory.data.notification_inbox import Position
from inventory.errors import FieldProblem, InvalidRequestError, NotFoundError
from inventory.models.inbox import InboxFilter, InboxItem, MarkedRead, MarkReadRequest
from inventory.models.numbers import exact_json
from inventory.services import cursors
from inventory.services.availability_cache import etag_of

MAX_PAGE_SIZE = 1_000  # about 1 MB of JSON with long messages and figures
DEFAULT_PAGE_SIZE = 100  # the list is unbounded, so it is always paged

_ITEMS = TypeAdapter(list[InboxItem])


def encode_cursor(position: Position) -> str:
    created_at, notification_id = position
    return cursors.encode(created_at.isoformat(), notification_id)


def decode_cursor(cursor: str) -> Position:
    """The position a cursor names; MalformedRequestError (400) when it is not one of ours."""
    return cursors.decode(cursor, _position)


def _position(created_at: object, notification_id: UUID) -> Position:
    if not isinstance(created_at, str):
        raise TypeError(created_at)
    instant = datetime.fromisoformat(created_at)
    # Ours are in UTC; no offset, or one PostgreSQL refuses (beyond ±15:59), is not ours.
    if instant.tzinfo is None or instant.utcoffset():
        raise ValueError(created_at)
    return (instant, notification_id)


@dataclass(frozen=True, slots=True)
class InboxPage:
    representation: bytes  # the page's JSON list
    etag: str
    next_cursor: str | None  # None on the last page


def page(
    connection: psycopg.Connection[object],
    filters: InboxFilter,
    after: str | None,
    limit: int,
) -> InboxPage:
    """One page of the notifications `filters` select, after the cursor `after`."""
    position = None if after is None else decode_cursor(after)
    items, more = notification_inbox.fetch_page(connection, filters, position, limit)
    following = None
    if more and items:
        following = encode_cursor((items[-1].created_at, items[-1].id))
    body = exact_json(_ITEMS.dump_json(items))
    tag_source = body + b"\n" + (following or "").encode()
    return InboxPage(body, etag_of(tag_source), following)


def one(connection: psycopg.Connection[object], notification_id: UUID) -> InboxItem:
    item = notification_inbox.fetch_one(connection, notification_id)
    if item is None:
        raise _not_found(notification_id)
    return item


def mark_read(
    connection: psycopg.Connection[object], notification_id: UUID, caller: Caller
) -> InboxItem:
    """Mark it read by the caller (the first reader and time stay); the notification."""
    item = notification_inbox.mark_one_read(connection, notification_id, caller.label)
    if item is None:
        raise _not_found(notification_id)
    return item


def mark_many_read(
    connection: psycopg.Connection[object], request: MarkReadRequest, caller: Caller
) -> MarkedRead:
    """Mark the notifications `ids` names, or every one created before `before`."""
    given = [name for name in ("ids", "before") if getattr(request, name) is not None]
    if len(given) != 1:
        message = "not with the other" if given else "give ids or before"
        raise InvalidRequestError(
            "Give exactly one of ids and before.",
            details=[FieldProblem("body", f"/{name}", message) for name in ("ids", "before")],
        )
    if request.ids is not None:
        marked = notification_inbox.mark_ids_read(connection, request.ids, caller.label)
    else:
        assert request.before is not None
        marked = notification_inbox.mark_before_read(connection, request.before, caller.label)
    return MarkedRead(marked=marked)


def _not_found(notification_id: UUID) -> NotFoundError:
    return NotFoundError(f"No notification has the id {notification_id}.")
