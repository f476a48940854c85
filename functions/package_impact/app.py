"""GET /api/inventory/package-impact/{productId}: the packages a product feeds or limits."""

from typing import Any
from uuid import UUID

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.data.db import run_on_connection
from inventory.http import ERROR_RESPONSES, build_app
from inventory.models.availability import PackageImpactEnvelope
from inventory.observability import logger, metrics
from inventory.services import availability

app = build_app()


@app.get(
    "/api/inventory/package-impact/<productId>",
    operation_id="getPackageImpact",
    tags=["Availability"],
    summary="Packages that use a product, and whether it limits them",
    responses=ERROR_RESPONSES,
)
def get_package_impact(productId: UUID) -> PackageImpactEnvelope:  # noqa: N803 (URL name)
    impact = run_on_connection(lambda c: availability.package_impact(c, productId))
    return PackageImpactEnvelope(data=impact)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
