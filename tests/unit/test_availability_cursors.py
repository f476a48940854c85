"""Cursors and pages of the package list: pure, no I/O."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.errors import MalformedRequestError
from inventory.models.availability import AvailabilityItem
from inventory.rules.availability import Status
from inventory.services.availability_pages import Page, decode_cursor, encode_cursor


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


def test_a_page_with_more_to_come_points_after_its_last_package() -> None:
    items = [item("Gin Tonic"), item("Mojito")]

    page = Page.of(items, more=True)

    assert page.next_cursor is not None
    assert decode_cursor(page.next_cursor) == ("Mojito", items[1].package_id)
    assert Page.of(items, more=False).next_cursor is None
