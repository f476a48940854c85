"""GET /api/notifications/{notificationId}: one notification; 404 when the id names none."""

from typing import Any
from uuid import UUID

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.data.db import run_on_connection
from inventory.http import ERROR_RESPONSES, build_app
from inventory.models.inbox import InboxItemEnvelope
from inventory.observability import logger, metrics
from inventory.services import inbox

app = build_app()


@app.get(
    "/api/notifications/<notificationId>",
    operation_id="getNotification",
    tags=["Inbox"],
    summary="One notification",
    responses=ERROR_RESPONSES,
)
def get_notification(notificationId: UUID) -> InboxItemEnvelope:  # noqa: N803 (URL name)
    item = run_on_connection(lambda connection: inbox.one(connection, notificationId))
    return InboxItemEnvelope(data=item)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
