"""POST /api/notification-subscriptions: a new subscription; a webhook's secret shown once."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.callers import caller_of
from inventory.data.db import run_on_connection
from inventory.data.db_faults import Rerun
from inventory.http import BODY_ERROR_RESPONSES, build_app
from inventory.models.subscriptions import SubscriptionCreatedEnvelope, SubscriptionRequest
from inventory.observability import logger, metrics
from inventory.services import subscriptions

app = build_app()


@app.post(
    "/api/notification-subscriptions",
    operation_id="createSubscription",
    tags=["Subscriptions"],
    summary="Subscribe a channel to notifications",
    description=(
        "201 with the subscription. For a webhook, `secret` (`whsec_…`) signs its deliveries "
        "(Standard Webhooks): it is shown in this answer only, keep it. A target that is not "
        "an address or an https URL, or whose host resolves to a private, loopback or "
        "link-local address, is a 422 naming `/target`."
    ),
    responses=BODY_ERROR_RESPONSES,
    status_code=201,
)
def create_subscription(request: SubscriptionRequest) -> SubscriptionCreatedEnvelope:
    caller = caller_of(app.current_event.raw_event)
    target = subscriptions.check_request(request)  # resolves the host: before the connection
    # Not run again on a broken connection: a committed insert would be stored twice.
    created = run_on_connection(
        lambda connection: subscriptions.create(connection, request, target, caller),
        rerun=Rerun.UNSAFE,
    )
    logger.info(
        "Subscription created",
        extra={
            "subscription_id": str(created.id),
            "channel": created.channel.value,
            **caller.log_fields(),
        },
    )
    return SubscriptionCreatedEnvelope(data=created)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
