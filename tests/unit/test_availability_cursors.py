"""Cursors and pages of the package list: pure, no I/O."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.errors import MalformedRequestError
from inventory.models.availability import AvailabilityItem
from inventory.rules.availability import Status
from inventory.services.availability_pages import Page, decode_cursor, encode_cursor, sort_key


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


# Every name a package can have: PostgreSQL text holds no NUL and no lone surrogate; a cursor
# naming one is refused (test_hostile_input).
NAME_CHARACTERS = st.characters(codec="utf-8", blacklist_characters="\x00")


@given(name=st.text(NAME_CHARACTERS), package_id=st.uuids())
def test_a_cursor_names_its_sort_key_exactly(name: str, package_id: uuid.UUID) -> None:
    cursor = encode_cursor((name, package_id))

    assert decode_cursor(cursor) == (name, package_id)
    assert cursor.isascii()
    assert "=" not in cursor


@pytest.mark.parametrize("cursor", ["", "%%%", "bnVsbA", "WzEsMl0", "WyJhIiwibm8tdXVpZCJd"])
def test_anything_else_is_a_malformed_request(cursor: str) -> None:
    with pytest.raises(MalformedRequestError):
        decode_cursor(cursor)


def test_a_page_with_more_to_come_points_after_its_last_package() -> None:
    items = [item("Gin Tonic"), item("Mojito")]

    page = Page.of(items, more=True)

    assert page.next_cursor is not None
    assert decode_cursor(page.next_cursor) == ("Mojito", items[1].package_id)
    assert Page.of(items, more=False).next_cursor is None


@given(names=st.lists(st.text(NAME_CHARACTERS, max_size=4), max_size=25), limit=st.integers(1, 30))
def test_pages_cut_from_the_list_cover_it_once_in_order(names: list[str], limit: int) -> None:
    items = sorted((item(n) for n in names), key=sort_key)

    seen: list[AvailabilityItem] = []
    after = None
    for _ in range(len(items) + 1):
        page = Page.from_list(items, after, limit)
        seen += [AvailabilityItem.model_validate(i) for i in json.loads(page.body)]
        if page.next_cursor is None:
            break
        after = decode_cursor(page.next_cursor)

    assert seen == items
