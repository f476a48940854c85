"""The monitor: every 10 minutes from EventBridge, and GET /api/cron/inventory-monitor.

One function serves both: an HTTP API event goes through the resolver (cron token checked),
anything else (the EventBridge scheduled event, a direct IAM-authorised invoke) runs the
monitor and returns the SPEC §5 result as a plain dict.
"""

from typing import Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory import cron_auth, deadline
from inventory.http import ERROR_RESPONSES, build_app
from inventory.models.envelope import ErrorEnvelope
from inventory.models.monitor_result import MonitorResultEnvelope
from inventory.observability import logger, metrics
from inventory.services import monitor

# debug=False: POWERTOOLS_DEV would otherwise print whole events, query token included.
app = build_app(debug=False)

# HTTP requests carry requestContext.requestId; EventBridge events carry id.
CORRELATION_ID_PATH = "requestContext.requestId || id"

# The two ways to present CRON_SECRET, declared as OpenAPI security schemes when the document
# is generated (devtools.openapi passes them to the resolver): plain data, so the Lambda never
# imports Powertools' OpenAPI models. This route alone uses them.
OPENAPI_SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "cronBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer <CRON_SECRET>`.",
    },
    "cronToken": {
        "type": "apiKey",
        "in": "query",
        "name": "token",
        "description": "`?token=<CRON_SECRET>`, for schedulers that cannot send a header.",
    },
}
CRON_SECURITY: list[dict[str, list[str]]] = [{"cronBearer": []}, {"cronToken": []}]

_RESPONSES: dict[int, OpenAPIResponse] = {
    **ERROR_RESPONSES,
    401: {
        "description": "Missing or wrong cron token, or no secret configured",
        "content": {"application/json": {"model": ErrorEnvelope}},
    },
}


@app.get(
    "/api/cron/inventory-monitor",
    operation_id="runInventoryMonitor",
    tags=["Monitor"],
    security=CRON_SECURITY,
    summary="Run the inventory monitor (for external schedulers)",
    description=(
        "Needs `Authorization: Bearer <CRON_SECRET>` or `?token=<CRON_SECRET>`; answers 401 "
        "otherwise, and always when no secret is configured."
    ),
    responses=_RESPONSES,
)
def run_from_cron() -> MonitorResultEnvelope:
    # Read from the event, not declared as parameters: Powertools logs a route's arguments
    # at DEBUG, and the token must never reach a log line.
    event = app.current_event
    cron_auth.authorize(event.headers.get("authorization"), event.get_query_string_value("token"))
    return MonitorResultEnvelope(
        data=monitor.run(deadline=deadline.for_invocation(app.lambda_context))
    )


def _is_http_event(event: dict[str, Any]) -> bool:
    return "http" in (event.get("requestContext") or {})


# log_event=False explicitly: POWERTOOLS_LOGGER_LOG_EVENT must not log the query token.
@logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH, log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if _is_http_event(event):
        return app.resolve(event, context)
    logger.info(
        "Scheduled monitor run",
        extra={"source": event.get("source"), "resources": event.get("resources")},
    )
    return monitor.run_monitor(deadline=deadline.for_invocation(context)).model_dump(mode="json")
