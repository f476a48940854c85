"""Cart quantities are read and answered exactly, as decimals, never through a binary float.

Found by a POS developer: `9.0000000000000001` limes was accepted as 9, and asking for
`9.000000000000002` limes (9 in stock) reported a shortfall of `2e-15`.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.models.cart import MAX_PRODUCT_QUANTITY, PRODUCT_DECIMAL_PLACES
from tests.support.cart_requests import LIMES, validate
from tests.support.events import FakeLambdaContext

LIMES_IN_STOCK = Decimal(9)  # the demo bar's


def limes(quantity: str) -> str:
    """A cart body of one lime line, the quantity written exactly as given."""
    return f'{{"items": [{{"product_id": "{LIMES}", "quantity": {quantity}}}]}}'


def exact(response: dict[str, Any]) -> Any:
    return json.loads(response["body"], parse_float=Decimal)


def test_more_places_than_the_schema_takes_is_refused_not_rounded(
    demo_bar: Any, lambda_context: FakeLambdaContext
) -> None:
    response = validate(lambda_context, limes("9.0000000000000001"))
    assert response["statusCode"] == 422
    error = exact(response)["error"]
    assert error["code"] == "validation_error"
    assert f"{PRODUCT_DECIMAL_PLACES} decimal places" in error["message"]


def test_a_shortfall_smaller_than_float_noise_is_reported_exactly(
    demo_bar: Any, lambda_context: FakeLambdaContext
) -> None:
    response = validate(lambda_context, limes("9.000000000000002"))
    assert response["statusCode"] == 200
    data = exact(response)["data"]
    assert data["valid"] is False
    [shortage] = data["shortages"]
    assert shortage["required"] == Decimal("9.000000000000002")
    assert shortage["available"] == LIMES_IN_STOCK
    assert shortage["shortfall"] == Decimal("0.000000000000002")
    assert '"shortfall":0.000000000000002' in response["body"].replace(" ", "")


@st.composite
def amounts_beyond_the_stock(draw: st.DrawFn) -> Decimal:
    places = draw(st.integers(min_value=0, max_value=PRODUCT_DECIMAL_PLACES))
    step = Decimal(1).scaleb(-places)
    return draw(
        st.decimals(min_value=LIMES_IN_STOCK + step, max_value=MAX_PRODUCT_QUANTITY, places=places)
    )


@settings(max_examples=60)
@given(amount=amounts_beyond_the_stock())
def test_any_amount_the_schema_takes_comes_back_exactly(
    demo_bar: Any, lambda_context: FakeLambdaContext, amount: Decimal
) -> None:
    response = validate(lambda_context, limes(format(amount, "f")))
    assert response["statusCode"] == 200
    data = exact(response)["data"]
    [shortage] = data["shortages"]
    assert shortage["required"] == amount
    assert shortage["shortfall"] == amount - LIMES_IN_STOCK
    assert data["items"][0]["quantity"] == amount
