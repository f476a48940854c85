"""Cart checks as the POS sends them, against the demo bar: its ids, a cart body, a request."""

from __future__ import annotations

from typing import Any

from devtools.demo_data import package_id, product_id
from functions.cart_validate import app as cart_validate
from tests.support.events import FakeLambdaContext, http_event

MOJITO = str(package_id("Mojito"))
CUBA_LIBRE = str(package_id("Cuba Libre"))
LIMES = str(product_id("Limes"))


def validate(context: FakeLambdaContext, body: Any = None, **event: Any) -> dict[str, Any]:
    """POST /api/pos/cart/validate through the real handler."""
    response: dict[str, Any] = cart_validate.lambda_handler(
        http_event("cart_validate.json", body=body, **event), context
    )
    return response


def lines(*items: tuple[str, str, Any]) -> dict[str, Any]:
    """A cart body from (kind, id, quantity) lines."""
    return {"items": [{kind: ref, "quantity": quantity} for kind, ref, quantity in items]}
