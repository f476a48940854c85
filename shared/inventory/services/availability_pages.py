"""The package list in pages: keyset cursors over the (name, id) order.

Why: a Lambda answers with at most 6 MB (the body travels JSON-escaped inside it), and the list
costs a few hundred bytes per package (docs/performance.md). A POS of a large catalogue asks
`?limit=N` and follows the `Link: <…>; rel="next"` header; the whole list stays the default
while it fits one response.

A cursor names the last package of the previous page by its sort key, not by its position, so
packages added or removed between two requests neither repeat nor skip the others. A page is
cut from the whole list when that list is cached at the current catalogue version; otherwise
it is read from PostgreSQL on its own (the packages after the cursor, by an index range scan),
so a POS paging through a busy catalogue, whose stock changes between two pages, never waits
for the whole list to be recomputed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from uuid import UUID

from pydantic import TypeAdapter

from inventory.errors import ErrorCode, InvalidRequestError
from inventory.models.availability import AvailabilityItem
from inventory.models.numbers import exact_json
from inventory.rules.availability import Status
from inventory.services import cursors

MAX_PAGE_SIZE = 5_000  # about 1.75 MB of JSON
DEFAULT_PAGE_SIZE = 1_000  # when `after` comes without `limit`
# The whole list in one response only below this: Lambda's 6 MB include the body's escaping.
MAX_WHOLE_LIST_BYTES = 4_000_000

_ITEMS = TypeAdapter(list[AvailabilityItem])

SortKey = tuple[str, UUID]


class ResponseTooLargeError(InvalidRequestError):
    """The whole list does not fit one response: the client must page (422)."""

    code = ErrorCode.RESPONSE_TOO_LARGE


def encode_cursor(key: SortKey) -> str:
    return cursors.encode(key[0], key[1])


def decode_cursor(cursor: str) -> SortKey:
    """The sort key a cursor names; MalformedRequestError (400) when it is not one of ours."""
    return cursors.decode(cursor, _sort_key)


def _sort_key(name: object, package_id: UUID) -> SortKey:
    if not isinstance(name, str):
        raise TypeError(name)
    # No package name holds a NUL or a lone surrogate (PostgreSQL text cannot): such a cursor
    # is not ours, and would fail inside the driver.
    if "\x00" in name:
        raise ValueError(name)
    name.encode("utf-8")  # UnicodeEncodeError (a ValueError) for a lone surrogate
    return (name, package_id)


@dataclass(frozen=True, slots=True)
class Page:
    body: bytes  # the page's JSON list
    next_cursor: str | None  # None on the last page

    @classmethod
    def of(cls, items: Sequence[AvailabilityItem], more: bool) -> Page:
        following = None
        if more and items:
            last = items[-1]
            following = encode_cursor((last.package_name, last.package_id))
        return cls(exact_json(_ITEMS.dump_json(list(items))), following)

    @classmethod
    def from_list(
        cls, items: Sequence[AvailabilityItem], after: SortKey | None, limit: int
    ) -> Page:
        """The same page cut from the whole list (in list order)."""
        start = 0 if after is None else bisect_right(items, after, key=sort_key)
        return cls.of(items[start : start + limit], start + limit < len(items))


def sort_key(item: AvailabilityItem) -> SortKey:
    # Python orders str by code point, which is UTF-8 byte order, PostgreSQL's COLLATE "C";
    # uuids compare as their 16 bytes in both.
    return (item.package_name, item.package_id)


# Two checks, because the limit is on bytes and only the computed list knows its bytes:
# `whole_list_can_fit` refuses from a count, before anything is computed, a list that cannot
# fit whatever its packages hold (a package is never smaller than the least item below);
# `whole_list_fits` refuses from the bytes themselves a list between that bound and the real
# size. A count at a typical package size would refuse lists that fit.


def least_list_bytes(package_count: int, name_bytes: int) -> int:
    """A lower bound of the whole list's JSON from its package count and the UTF-8 bytes of
    the package names: each item holds at least the least item's bytes plus its name (JSON
    escaping never makes a name shorter than its UTF-8), and a comma or a bracket."""
    return 1 + package_count * (_least_item_bytes() + 1) + name_bytes


@cache
def _least_item_bytes() -> int:
    """The shortest item: an empty name, the shortest status, 0 for each number (shorter than
    null), no bottleneck (null is shorter than any object) and no limiting product."""
    least = AvailabilityItem(
        package_id=UUID(int=0),
        package_name="",
        max_sellable=0,
        status=min(Status, key=lambda status: len(status.value)),
        baseline=0,
        bottleneck=None,
        limiting_product_ids=[],
    )
    return len(_ITEMS.dump_json([least])) - len(b"[]")


def whole_list_can_fit(package_count: int, name_bytes: int) -> None:
    """Raise ResponseTooLargeError when so many packages cannot be one response whatever they
    hold: decided from their count before the list is computed."""
    least = least_list_bytes(package_count, name_bytes)
    if least > MAX_WHOLE_LIST_BYTES:
        raise _too_large(package_count, f"at least {least:,}")


def whole_list_fits(representation: bytes, package_count: int) -> None:
    """Raise ResponseTooLargeError when the whole list cannot be one response."""
    if len(representation) > MAX_WHOLE_LIST_BYTES:
        raise _too_large(package_count, f"{len(representation):,}")


def _too_large(package_count: int, size: str) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"The {package_count:,} active packages ({size} bytes of JSON) do not "
        "fit in one response. Page through them with ?limit= (up to "
        f'{MAX_PAGE_SIZE:,}) and follow the Link header\'s rel="next".'
    )
