"""`stock.changed` events as plain values (rules/stock_events.py): the detail's shape, its exact
quantities, and the events the values refuse. No I/O."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.rules.stock_events import (
    DETAIL_TYPE,
    SOURCE,
    PackageStatus,
    ProductStock,
    StockChanged,
    detail_of,
)

EVENT_ID = uuid.UUID("0b7c6f6e-2f4e-4d55-9d1e-5b1a51d1a001")
SALE_ID = uuid.UUID("0b7c6f6e-2f4e-4d55-9d1e-5b1a51d1a002")
LIMES = uuid.UUID("0b7c6f6e-2f4e-4d55-9d1e-5b1a51d1a003")
MOJITO = uuid.UUID("0b7c6f6e-2f4e-4d55-9d1e-5b1a51d1a004")
SOLD_AT = datetime(2026, 3, 8, 14, 5, 0, 123456, tzinfo=UTC)


def sale(*products: ProductStock, **changes: Any) -> StockChanged:
    values: dict[str, Any] = {
        "event_id": EVENT_ID,
        "cause": "sale",
        "sale_id": SALE_ID,
        "movement_id": None,
        "occurred_at": SOLD_AT,
        "products": products or (ProductStock(LIMES, Decimal("3.5"), 17),),
        "packages": (PackageStatus(MOJITO, 4, "low_stock"),),
    }
    return StockChanged(**(values | changes))


def parsed(event: StockChanged) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(detail_of(event), parse_float=Decimal)
    return value


def test_source_and_detail_type_are_the_designs() -> None:
    assert (SOURCE, DETAIL_TYPE) == ("inventory-automation", "stock.changed")


def test_a_sales_detail_has_the_designs_shape_in_its_order() -> None:
    assert detail_of(sale()) == (
        '{"event_id":"0b7c6f6e-2f4e-4d55-9d1e-5b1a51d1a001","cause":"sale",'
        '"sale_id":"0b7c6f6e-2f4e-4d55-9d1e-5b1a51d1a002","movement_id":null,'
        '"occurred_at":"2026-03-08T14:05:00.123Z",'
        '"products":[{"product_id":"0b7c6f6e-2f4e-4d55-9d1e-5b1a51d1a003",'
        '"stock_after":3.5,"version":17}],'
        '"packages":[{"package_id":"0b7c6f6e-2f4e-4d55-9d1e-5b1a51d1a004",'
        '"max_sellable":4,"status":"low_stock"}],"packages_complete":true}'
    )


def test_a_movements_detail_names_the_movement_and_no_sale() -> None:
    movement = uuid.uuid4()
    event = sale(cause="receipt", sale_id=None, movement_id=movement, packages=())

    detail = parsed(event)

    assert (detail["cause"], detail["sale_id"], detail["movement_id"]) == (
        "receipt",
        None,
        str(movement),
    )
    assert detail["packages"] == []


@pytest.mark.parametrize(
    "stock_after",
    ["0.000000000000002", "3.50", "-1.25", "12345678901234567890.123456789", "0", "40"],
)
def test_stock_after_is_a_json_number_with_the_decimals_own_digits(stock_after: str) -> None:
    text = detail_of(sale(ProductStock(LIMES, Decimal(stock_after), 1)))

    assert f'"stock_after":{stock_after},' in text
    assert parsed(sale(ProductStock(LIMES, Decimal(stock_after), 1)))["products"][0][
        "stock_after"
    ] == Decimal(stock_after)


decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: abs(d.adjusted()) < 40
)


@given(stock=st.lists(decimals, min_size=1, max_size=5))
def test_every_quantity_reads_back_as_the_same_decimal_in_plain_digits(
    stock: list[Decimal],
) -> None:
    products = tuple(ProductStock(uuid.uuid4(), amount, n + 1) for n, amount in enumerate(stock))
    text = detail_of(sale(*products))

    assert [p["stock_after"] for p in parsed(sale(*products))["products"]] == stock
    # Plain digits, never a float's exponent.
    written = re.findall(r'"stock_after":([^,]+),', text)
    assert all(re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", number) for number in written), written


def test_an_unlimited_package_has_a_null_max_sellable() -> None:
    event = sale(packages=(PackageStatus(MOJITO, None, "no_components"),))

    assert parsed(event)["packages"] == [
        {"package_id": str(MOJITO), "max_sellable": None, "status": "no_components"}
    ]


def test_occurred_at_is_written_in_utc_whatever_the_zone_given() -> None:
    vienna = timezone(timedelta(hours=1))
    event = sale(occurred_at=datetime(2026, 3, 8, 15, 5, tzinfo=vienna))

    assert parsed(event)["occurred_at"] == "2026-03-08T14:05:00.000Z"


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"cause": "theft"}, "unknown cause"),
        ({"sale_id": None}, "a sale's event names its sale_id"),
        ({"movement_id": uuid.uuid4()}, "a sale's event names its sale_id and no movement_id"),
        ({"cause": "waste"}, "a stock movement's event names its movement_id"),
        ({"occurred_at": datetime(2026, 3, 8, 14, 5)}, "aware"),  # naive: which instant?
        ({"products": (ProductStock(LIMES, Decimal("NaN"), 1),)}, "not a number"),
    ],
)
def test_an_event_the_design_does_not_allow_is_refused(changes: dict[str, Any], said: str) -> None:
    with pytest.raises(ValueError, match=said):
        sale(**changes)


def test_past_the_bound_an_answer_or_event_names_no_package_and_says_so() -> None:
    from inventory.rules.stock_events import MAX_PACKAGES, named

    assert named(list(range(MAX_PACKAGES))) == (list(range(MAX_PACKAGES)), True)
    assert named(list(range(MAX_PACKAGES + 1))) == ((), False)
