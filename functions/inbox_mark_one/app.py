"""POST /api/notifications/{notificationId}/read: mark one notification read (idempotent)."""

from typing import Any
from uuid import UUID

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.callers import caller_of
from inventory.data.db import run_on_connection
from inventory.http import BODY_ERROR_RESPONSES, build_app
from inventory.models.inbox import InboxItemEnvelope
from inventory.observability import logger, metrics
from inventory.services import inbox

app = build_app()


@app.post(
    "/api/notifications/<notificationId>/read",
    operation_id="markNotificationRead",
    tags=["Inbox"],
    summary="Mark one notification read",
    description=(
        "Idempotent: the first `read_at` and `read_by` stay; marking again answers the "
        "notification unchanged."
    ),
    responses=BODY_ERROR_RESPONSES,
)
def mark_notification_read(notificationId: UUID) -> InboxItemEnvelope:  # noqa: N803 (URL name)
    caller = caller_of(app.current_event.raw_event)
    # Idempotent (the first reader stays): safe to run again on a broken connection.
    item = run_on_connection(lambda connection: inbox.mark_read(connection, notificationId, caller))
    logger.info(
        "Notification marked read",
        extra={"notification_id": str(item.id), "read_by": item.read_by, **caller.log_fields()},
    )
    return InboxItemEnvelope(data=item)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
