"""What every keyset-paged list route shares: its `after` parameter and its next-page link."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated
from urllib.parse import urlencode

from aws_lambda_powertools.event_handler.openapi.params import Query

PageCursor = Annotated[
    str | None,
    Query(
        max_length=2048,
        description='Cursor from the previous page\'s `Link: <…>; rel="next"` header.',
    ),
]


def next_link(path: str, query: Mapping[str, str], cursor: str, limit: int) -> str:
    """`Link` to the same request (its other parameters as sent) one page further."""
    following = {k: v for k, v in query.items() if k not in ("limit", "after")}
    following.update(limit=str(limit), after=cursor)
    return f'<{path}?{urlencode(following)}>; rel="next"'
