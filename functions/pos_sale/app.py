"""POST /api/pos/sales: sell a cart in one transaction, once per Idempotency-Key."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.callers import caller_of
from inventory.http import BODY_ERROR_RESPONSES, IDEMPOTENT_WRITE_RESPONSES, build_app
from inventory.models.sales import InsufficientStockEnvelope, SaleEnvelope, SaleRequest
from inventory.observability import logger, metrics
from inventory.services import sales
from inventory.services.idempotent_writes import IDEMPOTENCY_KEY_DESCRIPTION, idempotency_key

app = build_app()


@app.post(
    "/api/pos/sales",
    operation_id="recordSale",
    tags=["POS"],
    summary="Sell a cart: deduct every component exactly, once per Idempotency-Key",
    description=(
        "One transaction: the demand of every line on each shared component is summed, the "
        "products are locked, the whole cart is checked, the stock is deducted and the order "
        "items written. 201 with the deductions and the new availability of every package "
        "that uses a product the sale took from. A cart the stock cannot cover is a 409 "
        "`insufficient_stock` naming the shortages, and nothing is written, unless "
        "overselling is allowed (`allow_oversell`, else the ALLOW_OVERSELL setting). A retry "
        "with the same Idempotency-Key and body answers the first sale again; the same key "
        "with another body is a 422 `idempotency_key_reused`; while the first is still "
        "running, a 409 `idempotency_in_progress` with Retry-After."
    ),
    responses={
        **BODY_ERROR_RESPONSES,
        **IDEMPOTENT_WRITE_RESPONSES,
        409: {
            "description": "`insufficient_stock` (with `shortages`), `items_inactive`, or "
            "`idempotency_in_progress` (with Retry-After): nothing was sold.",
            "content": {"application/json": {"model": InsufficientStockEnvelope}},
        },
    },
    status_code=201,
)
def record_sale(
    request: SaleRequest,
    idempotency_key_header: Annotated[
        str | None, Header(alias="Idempotency-Key", description=IDEMPOTENCY_KEY_DESCRIPTION)
    ] = None,
) -> SaleEnvelope:
    event = app.current_event
    caller = caller_of(event.raw_event)
    sale = sales.sell(
        request,
        caller=caller,
        key=idempotency_key(event.headers),
        context=app.lambda_context,
    )
    logger.info(
        "Sale recorded",
        extra={"sale_id": str(sale.sale_id), "oversold": sale.oversold, **caller.log_fields()},
    )
    return SaleEnvelope(data=sale)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
