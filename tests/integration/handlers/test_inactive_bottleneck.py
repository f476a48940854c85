"""An inactive bottleneck says so: the demo bar's Cider bucket, whose cider is switched off.

Found by a POS developer: `max_sellable` 0 beside `bottleneck.current_stock` 24, nothing saying
the product is inactive, so the POS told staff "insufficient Seasonal cider stock".
"""

from __future__ import annotations

from typing import Any

from devtools.demo_data import package_id, product_id
from functions.package_availability import app as package_availability
from functions.package_impact import app as package_impact
from tests.support.cart_requests import lines, validate
from tests.support.events import FakeLambdaContext, http_event, response_json

CIDER_BUCKET = str(package_id("Cider bucket"))
CIDER = str(product_id("Seasonal cider"))


def test_the_bottleneck_says_inactive_and_the_stock_that_counted(
    demo_bar: Any, lambda_context: FakeLambdaContext
) -> None:
    event = http_event("package_availability.json", path_parameters={"packageId": CIDER_BUCKET})
    data = response_json(package_availability.lambda_handler(event, lambda_context))["data"]
    assert data["max_sellable"] == 0
    assert data["bottleneck"] == {
        "product_id": CIDER,
        "product_name": "Seasonal cider",
        "is_active": False,
        "current_stock": 24,
        "usable_stock": 0,
        "quantity_per_package": 4,
    }


def test_the_impact_of_an_inactive_product_shows_no_usable_stock(
    demo_bar: Any, lambda_context: FakeLambdaContext
) -> None:
    event = http_event("package_impact.json", path_parameters={"productId": CIDER})
    product = response_json(package_impact.lambda_handler(event, lambda_context))["data"]["product"]
    assert (product["is_active"], product["current_stock"], product["usable_stock"]) == (
        False,
        24,
        0,
    )


def test_a_cart_short_of_an_inactive_product_says_it_is_inactive(
    demo_bar: Any, lambda_context: FakeLambdaContext
) -> None:
    response = validate(lambda_context, lines(("package_id", CIDER_BUCKET, 1)))
    data = response_json(response)["data"]
    assert data["valid"] is False
    [shortage] = data["shortages"]
    assert shortage == {
        "product_id": CIDER,
        "product_name": "Seasonal cider",
        "required": 4,
        "available": 0,
        "shortfall": 4,
        "is_active": False,
        "current_stock": 24,
    }
