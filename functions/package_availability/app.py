"""GET /api/packages/{packageId}/availability: one package's availability (ETag, 304)."""

from typing import Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.data.db import run_on_connection
from inventory.http import build_app
from inventory.http_conditional import (
    IfNoneMatch,
    conditional_responses,
    enable_conditional_get,
    etag_json_response,
)
from inventory.models.availability import PackageAvailabilityEnvelope
from inventory.observability import logger, metrics
from inventory.services import availability_cache

app = enable_conditional_get(build_app())


@app.get(
    "/api/packages/<packageId>/availability",
    operation_id="getPackageAvailability",
    tags=["Availability"],
    summary="Availability of one package",
    responses=conditional_responses(PackageAvailabilityEnvelope, "The package's availability"),
)
def get_package_availability(
    packageId: UUID,  # noqa: N803 (URL name)
    if_none_match: IfNoneMatch = None,
) -> Response[str]:
    answer = run_on_connection(lambda c: availability_cache.one_package(c, packageId))
    # The envelope's schema is documented in `responses`; the body is the cached JSON.
    return etag_json_response(answer.representation, answer.etag, if_none_match)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
