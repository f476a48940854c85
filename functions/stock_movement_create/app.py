"""POST /api/inventory/stock-movements: a receipt, waste, correction or count, once per
Idempotency-Key."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.callers import caller_of
from inventory.http import BODY_ERROR_RESPONSES, IDEMPOTENT_WRITE_RESPONSES, build_app
from inventory.models.stock_movements import StockMovementEnvelope, StockMovementRequest
from inventory.observability import logger, metrics
from inventory.services import stock_movements
from inventory.services.idempotent_writes import IDEMPOTENCY_KEY_DESCRIPTION, idempotency_key

app = build_app()


@app.post(
    "/api/inventory/stock-movements",
    operation_id="recordStockMovement",
    tags=["Stock"],
    summary="Record a receipt, waste, correction or count of one product's stock",
    description=(
        "One transaction: the product's stock changes (a count sets it to the level counted) "
        "and the ledger records the change with its kind, the caller, the reason and the "
        "request's id; 201 with that ledger row. Waste may take the stock below zero (stock "
        "on record may be negative, as after an oversold sale); a product switched off takes "
        "movements too. A count is recorded even when it finds the level on record "
        "(`quantity_delta` 0). A product id that names nothing is a 422 `unknown_items`. A "
        "retry with the same Idempotency-Key and body answers the first movement again; the "
        "same key with another body is a 422 `idempotency_key_reused`; while the first is "
        "still running, a 409 `idempotency_in_progress` with Retry-After."
    ),
    responses={**BODY_ERROR_RESPONSES, **IDEMPOTENT_WRITE_RESPONSES},
    status_code=201,
)
def record_stock_movement(
    request: StockMovementRequest,
    idempotency_key_header: Annotated[
        str | None, Header(alias="Idempotency-Key", description=IDEMPOTENCY_KEY_DESCRIPTION)
    ] = None,
) -> StockMovementEnvelope:
    event = app.current_event
    caller = caller_of(event.raw_event)
    movement = stock_movements.record(
        request,
        caller=caller,
        key=idempotency_key(event.headers),
        context=app.lambda_context,
    )
    logger.info(
        "Stock movement answered",
        extra={"movement_id": str(movement.id), "kind": movement.kind, **caller.log_fields()},
    )
    return StockMovementEnvelope(data=movement)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
