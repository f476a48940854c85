"""GET /api/notification-subscriptions/{subscriptionId}: one subscription; 404 when unknown."""

from typing import Any
from uuid import UUID

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.data.db import run_on_connection
from inventory.http import ERROR_RESPONSES, build_app
from inventory.models.subscriptions import SubscriptionEnvelope
from inventory.observability import logger, metrics
from inventory.services import subscriptions

app = build_app()


@app.get(
    "/api/notification-subscriptions/<subscriptionId>",
    operation_id="getSubscription",
    tags=["Subscriptions"],
    summary="One subscription (never its secret)",
    responses=ERROR_RESPONSES,
)
def get_subscription(subscriptionId: UUID) -> SubscriptionEnvelope:  # noqa: N803 (URL name)
    found = run_on_connection(lambda connection: subscriptions.one(connection, subscriptionId))
    return SubscriptionEnvelope(data=found)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
