"""Cursors and pages of the package list: pure, no I/O."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.errors import MalformedRequestError
from inventory.models.availability import AvailabilityItem, BottleneckOut
from inventory.rules.availability import Status
from inventory.services.availability_pages import (
    Page,
    decode_cursor,
    encode_cursor,
    least_list_bytes,
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


_COUNTS = st.none() | st.integers(0, 10**12)
_QUANTITIES = st.decimals(
    min_value=0, max_value=10**9, places=3, allow_nan=False, allow_infinity=False
)
_BOTTLENECKS = st.none() | st.builds(
    BottleneckOut,
    product_id=st.uuids(),
    product_name=st.text(NAME_CHARACTERS, max_size=8),
    current_stock=_QUANTITIES,
    usable_stock=_QUANTITIES,
    is_active=st.booleans(),
    quantity_per_package=_QUANTITIES,
)
_ITEMS = st.builds(
    AvailabilityItem,
    package_id=st.uuids(),
    package_name=st.text(NAME_CHARACTERS, max_size=8),  # quotes, controls, non-ASCII too
    max_sellable=_COUNTS,
    status=st.sampled_from(Status),
    baseline=_COUNTS,
    bottleneck=_BOTTLENECKS,
    limiting_product_ids=st.lists(st.uuids(), max_size=3),
)


@given(items=st.lists(_ITEMS, max_size=12))
def test_the_bound_from_a_count_never_exceeds_the_list_itself(
    items: list[AvailabilityItem],
) -> None:
    # The refusal from a count is only right if no list of that many packages (and names)
    # can be smaller than the bound.
    names = sum(len(item.package_name.encode()) for item in items)

    assert least_list_bytes(len(items), names) <= len(Page.of(items, more=False).body)


def test_the_bound_is_the_smallest_item_exactly() -> None:
    smallest = AvailabilityItem(
        package_id=uuid.UUID(int=0),
        package_name="",
        max_sellable=0,
        status=Status.INACTIVE,  # the shortest
        baseline=0,
        bottleneck=None,
        limiting_product_ids=[],
    )

    for count in (1, 2, 3):
        assert least_list_bytes(count, 0) == len(Page.of([smallest] * count, more=False).body)
