"""Cursors and pages of the package list: pure, no I/O."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.errors import MalformedRequestError
from inventory.models.availability import AvailabilityItem
from inventory.rules.availability import Status
from inventory.services.availability_pages import (
    Listing,
    decode_cursor,
    encode_cursor,
    sort_key,
)


def item(name: str) -> AvailabilityItem:
    return AvailabilityItem(
        package_id=uuid.uuid4(),
        package_name=name,
        max_sellable=1,
        status=Status.AVAILABLE,
        baseline=None,
        bottleneck=None,
        limiting_product_ids=[],
    )


@given(name=st.text(), package_id=st.uuids())
def test_a_cursor_names_its_sort_key_exactly(name: str, package_id: uuid.UUID) -> None:
    cursor = encode_cursor((name, package_id))

    assert decode_cursor(cursor) == (name, package_id)
    assert cursor.isascii()
    assert "=" not in cursor


@pytest.mark.parametrize("cursor", ["", "%%%", "bnVsbA", "WzEsMl0", "WyJhIiwibm8tdXVpZCJd"])
def test_anything_else_is_a_malformed_request(cursor: str) -> None:
    with pytest.raises(MalformedRequestError):
        decode_cursor(cursor)


@given(names=st.lists(st.text(max_size=5), max_size=30), limit=st.integers(1, 40))
def test_pages_cover_the_listing_once_in_order(names: list[str], limit: int) -> None:
    items = sorted((item(n) for n in names), key=sort_key)
    listing = Listing.of(items)

    seen: list[bytes] = []
    after = None
    for _ in range(len(items) + 1):
        page = listing.page(after, limit)
        seen.append(page.body)
        if page.next_cursor is None:
            break
        after = decode_cursor(page.next_cursor)
    else:
        pytest.fail("paging did not end")

    from pydantic import TypeAdapter

    adapter = TypeAdapter(list[AvailabilityItem])
    assert [i for body in seen for i in adapter.validate_json(body)] == items
