"""DELETE /api/notification-subscriptions/{subscriptionId}: delete a subscription."""

from typing import Any
from uuid import UUID

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.callers import caller_of
from inventory.data.db import run_on_connection
from inventory.http import ERROR_RESPONSES, build_app
from inventory.models.subscriptions import SubscriptionDeleted, SubscriptionDeletedEnvelope
from inventory.observability import logger, metrics
from inventory.services import subscriptions

app = build_app()


@app.delete(
    "/api/notification-subscriptions/<subscriptionId>",
    operation_id="deleteSubscription",
    tags=["Subscriptions"],
    summary="Delete a subscription",
    description="Nothing more is sent to it; its secret is gone with it. 404 when unknown.",
    responses=ERROR_RESPONSES,
)
def delete_subscription(subscriptionId: UUID) -> SubscriptionDeletedEnvelope:  # noqa: N803
    caller = caller_of(app.current_event.raw_event)
    run_on_connection(lambda connection: subscriptions.delete(connection, subscriptionId))
    logger.info(
        "Subscription deleted",
        extra={"subscription_id": str(subscriptionId), **caller.log_fields()},
    )
    return SubscriptionDeletedEnvelope(data=SubscriptionDeleted(id=subscriptionId))


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
