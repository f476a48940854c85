"""POST /api/notifications/read: mark many notifications read, by ids or everything before."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.callers import caller_of
from inventory.data.db import run_on_connection
from inventory.http import BODY_ERROR_RESPONSES, build_app
from inventory.models.inbox import MAX_MARK_IDS, MarkedReadEnvelope, MarkReadRequest
from inventory.observability import logger, metrics
from inventory.services import inbox

app = build_app()


@app.post(
    "/api/notifications/read",
    operation_id="markNotificationsRead",
    tags=["Inbox"],
    summary="Mark many notifications read",
    description=(
        f'`{{"ids": [...]}}` (1 to {MAX_MARK_IDS}) or `{{"before": "<date-time>"}}`, exactly '
        "one of them. Already read ones keep their first `read_at` and `read_by` and are not "
        "counted in `marked`."
    ),
    responses=BODY_ERROR_RESPONSES,
)
def mark_notifications_read(request: MarkReadRequest) -> MarkedReadEnvelope:
    caller = caller_of(app.current_event.raw_event)
    # Run again on a broken connection: marking is idempotent (only unread rows change), though
    # a retry after an unheard commit counts 0 newly marked.
    marked = run_on_connection(lambda connection: inbox.mark_many_read(connection, request, caller))
    logger.info(
        "Notifications marked read",
        extra={
            "marked": marked.marked,
            "by_ids": request.ids is not None,
            "before": request.before.isoformat() if request.before else None,
            **caller.log_fields(),
        },
    )
    return MarkedReadEnvelope(data=marked)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
