"""DELETE /api/inventory/notifications/cooldowns: let alerts be sent again right away.

Destructive, so nothing is guessed: an unknown query parameter (a typo such as `referenceId`)
is a 400, and clearing every entry needs `?all=true` said explicitly.
"""

from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.callers import caller_of
from inventory.http import ERROR_RESPONSES, build_app, reject_unknown_query_parameters
from inventory.models.checks import CooldownsCleared, CooldownsClearedEnvelope
from inventory.observability import logger, metrics
from inventory.rules.alert_types import NotificationType
from inventory.services import manual_checks

app = build_app()


@app.delete(
    "/api/inventory/notifications/cooldowns",
    operation_id="clearCooldowns",
    tags=["Notifications"],
    summary="Clear notification cooldowns: all, one type, or one reference",
    responses=ERROR_RESPONSES,
)
def clear_cooldowns(
    type: Annotated[NotificationType | None, Query(description="Only this type")] = None,
    reference_id: Annotated[UUID | None, Query(description="Only this package/product")] = None,
    all: Annotated[
        bool, Query(description="Clear every entry: needed when neither filter is given")
    ] = False,
) -> CooldownsClearedEnvelope:
    reject_unknown_query_parameters(app.current_event, {"type", "reference_id", "all"})
    caller = caller_of(app.current_event.raw_event)
    cleared = manual_checks.clear_cooldowns(type=type, reference_id=reference_id, everything=all)
    logger.info(
        "Cooldowns cleared",
        extra={
            "cleared": cleared,
            "type": type,
            "reference_id": str(reference_id or ""),
            "all": all,
            **caller.log_fields(),
        },
    )
    return CooldownsClearedEnvelope(
        data=CooldownsCleared(
            cleared=cleared, type=type, reference_id=reference_id, cleared_by=caller.label
        )
    )


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
