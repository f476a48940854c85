"""POST /api/pos/cart/validate: can the whole cart be sold at once, and what falls short."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.data.db import run_on_connection
from inventory.http import BODY_ERROR_RESPONSES, build_app
from inventory.models.cart import CartRequest, CartValidationEnvelope
from inventory.observability import logger, metrics
from inventory.services import cart

app = build_app()


@app.post(
    "/api/pos/cart/validate",
    operation_id="validateCart",
    tags=["POS"],
    summary="Check that a whole cart can be sold, summing shared components",
    responses={
        200: {
            "description": "The check ran; `data.valid` says whether the cart can be sold.",
            "content": {"application/json": {"model": CartValidationEnvelope}},
        },
        **BODY_ERROR_RESPONSES,
    },
)
def validate_cart(body: CartRequest) -> CartValidationEnvelope:
    result = run_on_connection(lambda connection: cart.validate_cart(connection, body))
    return CartValidationEnvelope(data=result)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
