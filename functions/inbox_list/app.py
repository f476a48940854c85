"""GET /api/notifications: the inbox, newest first, filtered, in keyset pages (ETag, 304)."""

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
from inventory.models.inbox import GivenInstant, InboxFilter, InboxListEnvelope, InboxState
from inventory.observability import logger, metrics
from inventory.rules.alert_types import NotificationType, Priority
from inventory.services import inbox
from inventory.services.inbox import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

app = enable_conditional_get(build_app())

PATH = "/api/notifications"
# A misspelt filter (`?unred=true`) would silently show everything: it is a 400 instead.
PARAMETERS = {"state", "unread", "type", "priority", "reference_id", "since", "limit", "after"}


@app.get(
    PATH,
    operation_id="listNotifications",
    tags=["Inbox"],
    summary="Notifications, newest first, in pages",
    description=(
        "Filters combine (all must hold). Always paged: follow the `Link` header's "
        '`rel="next"` (it keeps the filters) until a page comes without one. Notifications '
        "stored while you page are not shown in that pass and never make one repeat or vanish."
    ),
    responses=paged_responses(
        conditional_responses(InboxListEnvelope, "One page of notifications, newest first")
    ),
)
def list_notifications(
    state: Annotated[
        InboxState,
        Query(description="`open`: not resolved yet; `resolved`: its episode ended; `all`."),
    ] = InboxState.ALL,
    unread: Annotated[
        bool | None, Query(description="true: only unread; false: only read ones.")
    ] = None,
    type: Annotated[NotificationType | None, Query(description="Only this type.")] = None,
    priority: Annotated[Priority | None, Query(description="Only this priority.")] = None,
    reference_id: Annotated[
        UUID | None, Query(description="Only those about this package or product.")
    ] = None,
    since: Annotated[
        GivenInstant | None,
        Query(description="Only those created at or after this instant (with its offset)."),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size.")
    ] = DEFAULT_PAGE_SIZE,
    after: PageCursor = None,
    if_none_match: IfNoneMatch = None,
) -> Response[str]:
    reject_unknown_query_parameters(app.current_event, PARAMETERS)
    filters = InboxFilter(
        state=state,
        unread=unread,
        type=type,
        priority=priority,
        reference_id=reference_id,
        since=since,
    )
    page = run_on_connection(lambda connection: inbox.page(connection, filters, after, limit))
    response = etag_json_response(page.representation, page.etag, if_none_match)
    if page.next_cursor is not None:
        response.headers["Link"] = next_link(
            PATH, app.current_event.query_string_parameters or {}, page.next_cursor, limit
        )
    return response


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
