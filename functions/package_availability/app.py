"""GET /api/packages/{packageId}/availability: one package's availability."""

from typing import Any
from uuid import UUID

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
    "/api/packages/<packageId>/availability",
    summary="Availability of one package",
    responses=ERROR_RESPONSES,
)
def get_package_availability(packageId: UUID) -> Envelope[AvailabilityItem]:  # noqa: N803 (URL name)
    with database() as connection:
        item = availability.one_package(connection, packageId)
    return ok(AvailabilityItem.of(item))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
