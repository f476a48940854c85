"""PATCH /api/notification-subscriptions/{subscriptionId}: change a subscription."""

from typing import Any
from uuid import UUID

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.callers import caller_of
from inventory.data.db import run_on_connection
from inventory.http import BODY_ERROR_RESPONSES, build_app
from inventory.models.subscriptions import SubscriptionChange, SubscriptionEnvelope
from inventory.observability import logger, metrics
from inventory.services import subscriptions

app = build_app()


@app.patch(
    "/api/notification-subscriptions/<subscriptionId>",
    operation_id="changeSubscription",
    tags=["Subscriptions"],
    summary="Change a subscription",
    description=(
        "The fields given replace the stored ones (null clears `types`, `reference_ids`, "
        "`quiet_hours`, `digest_minutes`); absent ones stay. Mode `immediate` drops "
        "`digest_minutes`. `enabled: false` stops sending. The channel cannot change."
    ),
    responses=BODY_ERROR_RESPONSES,
)
def change_subscription(
    subscriptionId: UUID,  # noqa: N803 (URL name)
    change: SubscriptionChange,
) -> SubscriptionEnvelope:
    caller = caller_of(app.current_event.raw_event)
    stored = run_on_connection(lambda connection: subscriptions.one(connection, subscriptionId))
    target = subscriptions.check_change(stored, change)  # resolves the host: no connection held
    # The same change twice leaves the same row: safe to run again on a broken connection.
    changed = run_on_connection(
        lambda connection: subscriptions.apply_change(
            connection, subscriptionId, change, target, caller
        )
    )
    logger.info(
        "Subscription changed",
        extra={
            "subscription_id": str(changed.id),
            "fields": sorted(change.model_fields_set),
            **caller.log_fields(),
        },
    )
    return SubscriptionEnvelope(data=changed)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
