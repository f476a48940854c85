"""GET /api/packages/availability: every active package's availability (ETag, 304)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.data.db import run_on_connection
from inventory.http import build_app
from inventory.http_conditional import (
    IfNoneMatch,
    conditional_responses,
    enable_conditional_get,
    etag_json_response,
    paged_responses,
)
from inventory.http_pages import PageCursor, next_link
from inventory.models.availability import PackageAvailabilityListEnvelope
from inventory.observability import logger, metrics
from inventory.services import availability_cache
from inventory.services.availability_pages import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    decode_cursor,
    whole_list_fits,
)

app = enable_conditional_get(build_app())


Limit = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_PAGE_SIZE,
        description=(
            "Page size. Without it (and without `after`) the whole list is returned while it "
            "fits one response (about 10,000 packages); larger catalogues must page."
        ),
    ),
]


@app.get(
    "/api/packages/availability",
    operation_id="listPackageAvailability",
    tags=["Availability"],
    summary="Availability of every active package",
    responses=paged_responses(
        conditional_responses(
            PackageAvailabilityListEnvelope, "Every active package, by (name, id)"
        )
    ),
)
def list_package_availability(
    limit: Limit = None, after: PageCursor = None, if_none_match: IfNoneMatch = None
) -> Response[str]:
    cursor = None if after is None else decode_cursor(after)
    if limit is None and cursor is None:
        # package_list refuses from a count what cannot fit whatever it holds; the list's own
        # bytes decide the rest.
        answer = run_on_connection(availability_cache.package_list)
        whole_list_fits(answer.representation, len(answer.value))
        # The envelope's schema is documented in `responses`; the body is the cached JSON.
        return etag_json_response(answer.representation, answer.etag, if_none_match)
    size = limit or DEFAULT_PAGE_SIZE
    page = run_on_connection(lambda c: availability_cache.package_page(c, cursor, size))
    response = etag_json_response(page.representation, page.etag, if_none_match)
    if page.value.next_cursor is not None:
        response.headers["Link"] = next_link(
            "/api/packages/availability", {}, page.value.next_cursor, size
        )
    return response


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
