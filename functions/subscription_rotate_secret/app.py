"""POST /api/notification-subscriptions/{subscriptionId}/rotate-secret: a new webhook secret,
shown once; the previous one keeps signing beside it for 24 hours."""

from typing import Any
from uuid import UUID

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.callers import caller_of
from inventory.data.db import run_on_connection
from inventory.data.db_faults import Rerun
from inventory.http import ERROR_RESPONSES, build_app
from inventory.models.subscriptions import SecretRotatedEnvelope
from inventory.observability import logger, metrics
from inventory.services import subscriptions

app = build_app()


@app.post(
    "/api/notification-subscriptions/<subscriptionId>/rotate-secret",
    operation_id="rotateSubscriptionSecret",
    tags=["Subscriptions"],
    summary="Rotate a webhook's signing secret",
    description=(
        "The new `secret` is shown in this answer only. Deliveries are signed with both "
        "secrets until `previous_secret_expires_at` (24 h), so receivers can switch over; "
        "rotating again within that time retires the older one at once. 422 for a "
        "subscription that is not a webhook."
    ),
    responses=ERROR_RESPONSES,
)
def rotate_subscription_secret(subscriptionId: UUID) -> SecretRotatedEnvelope:  # noqa: N803
    caller = caller_of(app.current_event.raw_event)
    # Not run again on a broken connection: a second rotation would retire the first new
    # secret, which nobody was shown, and the previous one with it.
    rotated = run_on_connection(
        lambda connection: subscriptions.rotate_secret(connection, subscriptionId),
        rerun=Rerun.UNSAFE,
    )
    logger.info(
        "Subscription secret rotated",
        extra={
            "subscription_id": str(rotated.id),
            "previous_secret_expires_at": rotated.previous_secret_expires_at.isoformat(),
            **caller.log_fields(),
        },
    )
    return SecretRotatedEnvelope(data=rotated)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
