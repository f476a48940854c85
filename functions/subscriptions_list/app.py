"""GET /api/notification-subscriptions: the subscriptions, oldest first, in keyset pages."""

from typing import Annotated, Any

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
from inventory.models.subscriptions import SubscriptionListEnvelope
from inventory.observability import logger, metrics
from inventory.services import subscriptions
from inventory.services.subscriptions import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

app = enable_conditional_get(build_app())

PATH = "/api/notification-subscriptions"
PARAMETERS = {"limit", "after"}


@app.get(
    PATH,
    operation_id="listSubscriptions",
    tags=["Subscriptions"],
    summary="Subscriptions, oldest first, in pages",
    description=(
        'Follow the `Link` header\'s `rel="next"` until a page comes without one. Secrets are '
        "never shown here (only by the creation or rotation that made them)."
    ),
    responses=paged_responses(
        conditional_responses(SubscriptionListEnvelope, "One page of subscriptions")
    ),
)
def list_subscriptions(
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size.")
    ] = DEFAULT_PAGE_SIZE,
    after: PageCursor = None,
    if_none_match: IfNoneMatch = None,
) -> Response[str]:
    reject_unknown_query_parameters(app.current_event, PARAMETERS)
    page = run_on_connection(lambda connection: subscriptions.page(connection, after, limit))
    response = etag_json_response(page.representation, page.etag, if_none_match)
    if page.next_cursor is not None:
        response.headers["Link"] = next_link(PATH, {}, page.next_cursor, limit)
    return response


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
