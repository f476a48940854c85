"""POST /api/inventory/notifications/check runs a check; GET shows the live cooldowns."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory import deadline
from inventory.callers import caller_of
from inventory.http import BODY_ERROR_RESPONSES, ERROR_RESPONSES, build_app
from inventory.models.checks import (
    CooldownStatsEnvelope,
    NotificationCheckEnvelope,
    NotificationCheckRequest,
)
from inventory.observability import logger, metrics
from inventory.services import manual_checks

app = build_app()


@app.post(
    "/api/inventory/notifications/check",
    operation_id="runNotificationCheck",
    tags=["Notifications"],
    summary="Check one package, the bottlenecks, or everything, and notify",
    description=(
        "The body is optional: without one (or with `{}`) every check runs, as the monitor "
        "does. `data.type` says which check ran."
    ),
    responses=BODY_ERROR_RESPONSES,
)
def post_notification_check(
    # Optional: no body is the empty request, which runs every check. A default factory, not
    # `| None`, so the document offers the plain object as a body a client may leave out.
    request: Annotated[NotificationCheckRequest, Body(default_factory=NotificationCheckRequest)],
) -> NotificationCheckEnvelope:
    caller = caller_of(app.current_event.raw_event)
    logger.info(
        "Manual check requested",
        extra={
            "request": request.model_dump(mode="json", exclude_none=True),
            **caller.log_fields(),
        },
    )
    return NotificationCheckEnvelope(
        data=manual_checks.run_check(request, deadline=deadline.for_invocation(app.lambda_context))
    )


@app.get(
    "/api/inventory/notifications/check",
    operation_id="getCooldownStats",
    tags=["Notifications"],
    summary="Live notification cooldowns by type",
    responses=ERROR_RESPONSES,
)
def get_cooldown_stats() -> CooldownStatsEnvelope:
    return CooldownStatsEnvelope(data=manual_checks.cooldown_stats())


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
