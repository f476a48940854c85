"""GET /api/notifications/{notificationId}/deliveries: what became of each message the
notification owed; 404 when the id names no notification."""

from typing import Any
from uuid import UUID

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.data.db import run_on_connection
from inventory.http import ERROR_RESPONSES, build_app
from inventory.models.deliveries import DeliveryListEnvelope
from inventory.observability import logger, metrics
from inventory.services import deliveries

app = build_app()


@app.get(
    "/api/notifications/<notificationId>/deliveries",
    operation_id="listNotificationDeliveries",
    tags=["Inbox"],
    summary="The deliveries of one notification",
    description=(
        "One entry per subscription the notification was owed to, and one for the SNS topic: "
        "its status, attempts, last error and when it was sent. A notification sent inside a "
        "digest shows the digest's state."
    ),
    responses=ERROR_RESPONSES,
)
def list_deliveries(notificationId: UUID) -> DeliveryListEnvelope:  # noqa: N803 (URL name)
    items = run_on_connection(
        lambda connection: deliveries.of_notification(connection, notificationId)
    )
    return DeliveryListEnvelope(data=items)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
