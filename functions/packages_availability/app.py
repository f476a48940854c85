"""GET /api/packages/availability: every active package's availability."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.data.db import database
from inventory.http import ERROR_RESPONSES, build_app
from inventory.models.availability import AvailabilityItem
from inventory.models.envelope import Envelope, ok
from inventory.observability import logger, metrics
from inventory.services import availability

app = build_app()


@app.get(
    "/api/packages/availability",
    summary="Availability of every active package",
    responses=ERROR_RESPONSES,
)
def list_package_availability() -> Envelope[list[AvailabilityItem]]:
    with database() as connection:
        items = availability.all_packages(connection)
    return ok([AvailabilityItem.of(item) for item in items])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
