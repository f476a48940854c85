"""GET /api/health: up (200) or down (503), for anyone: the route is public (no authorizer).

A public route cannot trust a token (the gateway validated none), so the answer is the same
for every caller and names no dependency; which one failed, its latency and the reason go to
the function's log ("Health check failed", from services/health).
"""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.data.cooldowns import get_cooldown_store
from inventory.data.db import ping
from inventory.errors import DependencyUnavailableError
from inventory.http import ERROR_RESPONSES, build_app
from inventory.models.health import HealthStatus, HealthStatusEnvelope
from inventory.observability import logger, metrics
from inventory.services.health import check_health

app = build_app()


@app.get(
    "/api/health",
    operation_id="getHealth",
    tags=["Health"],
    summary="Up or down (PostgreSQL and the cooldown table answer)",
    responses=ERROR_RESPONSES,
)
def get_health() -> HealthStatusEnvelope:
    # check_health logs each failed dependency ("Health check failed", its name and reason).
    report = check_health(ping, get_cooldown_store())
    if not report.healthy:
        raise DependencyUnavailableError("The service is down.")
    return HealthStatusEnvelope(data=HealthStatus())


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
