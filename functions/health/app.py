"""GET /api/health: whether PostgreSQL and the cooldown table answer (503 when one does not)."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.data.cooldowns import get_cooldown_store
from inventory.data.db import database
from inventory.errors import DependencyUnavailableError
from inventory.http import ERROR_RESPONSES, build_app
from inventory.models.health import HealthReportEnvelope
from inventory.observability import logger, metrics
from inventory.services.health import check_health

app = build_app()


@app.get(
    "/api/health",
    operation_id="getHealth",
    tags=["Health"],
    summary="Whether PostgreSQL and the cooldown table answer",
    responses=ERROR_RESPONSES,
)
def get_health() -> HealthReportEnvelope:
    report = check_health(database, get_cooldown_store())
    if not report.healthy:
        raise DependencyUnavailableError(report.failure_summary())
    return HealthReportEnvelope(data=report)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
