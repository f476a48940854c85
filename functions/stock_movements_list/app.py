"""GET /api/inventory/products/{productId}/stock-movements: a product's stock ledger, newest
first, in keyset pages (ETag, 304)."""

from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.data.db import run_on_connection
from inventory.http import build_app, reject_unknown_query_parameters
from inventory.http_conditional import (
    IfNoneMatch,
    conditional_responses,
    enable_conditional_get,
    etag_json_response,
    paged_responses,
)
from inventory.http_pages import PageCursor, next_link
from inventory.models.stock_movements import StockMovementListEnvelope
from inventory.observability import logger, metrics
from inventory.services import stock_movements
from inventory.services.stock_movements import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

app = enable_conditional_get(build_app())

PARAMETERS = {"limit", "after"}


@app.get(
    "/api/inventory/products/<productId>/stock-movements",
    operation_id="listStockMovements",
    tags=["Stock"],
    summary="A product's stock ledger, newest first, in pages",
    description=(
        "Every change of the product's current_stock, whoever wrote it: sales, the movements "
        "of POST /api/inventory/stock-movements, and `external` rows for writes that did not "
        "come through the API (the POS's own SQL, psql, the opening balance). Always paged: "
        'follow the `Link` header\'s `rel="next"` until a page comes without one. Rows '
        "recorded while you page are not shown in that pass and never make one repeat or "
        "vanish. 404 when no product has the id."
    ),
    responses=paged_responses(
        conditional_responses(StockMovementListEnvelope, "One page of the ledger, newest first")
    ),
)
def list_stock_movements(
    productId: UUID,  # noqa: N803 (URL name)
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size.")
    ] = DEFAULT_PAGE_SIZE,
    after: PageCursor = None,
    if_none_match: IfNoneMatch = None,
) -> Response[str]:
    reject_unknown_query_parameters(app.current_event, PARAMETERS)
    page = run_on_connection(
        lambda connection: stock_movements.page(connection, productId, after, limit)
    )
    response = etag_json_response(page.representation, page.etag, if_none_match)
    if page.next_cursor is not None:
        path = f"/api/inventory/products/{productId}/stock-movements"
        response.headers["Link"] = next_link(path, {}, page.next_cursor, limit)
    return response


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
