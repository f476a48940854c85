"""The availability handler (functions/packages_availability, the real `lambda_handler` with
events/packages_availability.json): the whole list and pages of it, first, warm and 304 calls,
and each right after a stock change (nothing cached is current), with its SQL statements."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import psycopg

from devtools.bench_measure import median, timed
from devtools.bench_services import quiet_stdout
from devtools.bench_statements import StatementCounter
from devtools.template import ROOT, FunctionSpec, Template

EVENTS_DIR = ROOT / "events"
AVAILABILITY_FUNCTION_DIR = "packages_availability"


def _header(headers: dict[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return None


def availability_spec(template: Template) -> FunctionSpec:
    for spec in template.functions.values():
        if spec.code_dir.name == AVAILABILITY_FUNCTION_DIR:
            return spec
    raise LookupError(f"no function with code in functions/{AVAILABILITY_FUNCTION_DIR}")


PAGE_SIZE = 1_000


def measure_availability_handler(
    template: Template, repeat: int, database_url: str
) -> dict[str, Any]:
    """The real handler with its committed event: the whole list (first, warm and 304 calls;
    a 422 once it no longer fits one Lambda response), then pages of PAGE_SIZE (medians), then
    the whole list again right after stock changes."""
    from devtools.lambda_runtime import LocalLambdaContext, load_function_module

    spec = availability_spec(template)
    handler = getattr(load_function_module(spec), spec.handler_function)
    event = json.loads((EVENTS_DIR / f"{AVAILABILITY_FUNCTION_DIR}.json").read_text())

    def call(request: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        context = LocalLambdaContext(spec.logical_id, spec.memory_mb, spec.timeout_seconds)
        with quiet_stdout():
            return timed(lambda: handler(request, context))

    first_ms, first = call(event)
    warm = [call(event) for _ in range(repeat)]
    figures: dict[str, Any] = {
        "first_call_ms": first_ms,
        "first_status": first.get("statusCode"),
        "warm_call_ms": median([ms for ms, _ in warm]),
        "response_bytes": len(str(warm[-1][1].get("body") or "")),
        **_revalidation(call, event, warm[-1][1], repeat),
    }
    page_event = _with_query(event, {"limit": str(PAGE_SIZE)})
    pages = [call(page_event) for _ in range(repeat)]
    figures["page"] = {
        "limit": PAGE_SIZE,
        "status": pages[-1][1].get("statusCode"),
        "warm_call_ms": median([ms for ms, _ in pages]),
        "response_bytes": len(str(pages[-1][1].get("body") or "")),
        "every_page_ms": _every_page_ms(call, page_event),
        "after_a_change_ms": _after_a_change(call, page_event, database_url, repeat)["ms"],
        **_revalidation(call, page_event, pages[-1][1], repeat),
    }
    # The whole list (or its refusal) when the cache holds nothing current, as after any sale:
    # what an unpaged request costs on a busy catalogue. Last, so the pages above find the
    # cache as the first calls left it.
    figures["after_a_change"] = _after_a_change(call, event, database_url, repeat)
    return figures


def _revalidation(
    call: Callable[[dict[str, Any]], tuple[float, dict[str, Any]]],
    event: dict[str, Any],
    answered: dict[str, Any],
    repeat: int,
) -> dict[str, Any]:
    """The same request with If-None-Match: the 304 call (median)."""
    etag = _header(answered.get("headers") or {}, "etag")
    if etag is None:
        return {"etag": False, "not_modified_ms": None, "not_modified_status": None}
    conditional = json.loads(json.dumps(event))
    conditional["headers"]["if-none-match"] = etag
    revalidated = [call(conditional) for _ in range(repeat)]
    return {
        "etag": True,
        "not_modified_ms": median([ms for ms, _ in revalidated]),
        "not_modified_status": revalidated[-1][1].get("statusCode"),
    }


def _with_query(event: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    from urllib.parse import urlencode

    changed: dict[str, Any] = json.loads(json.dumps(event))
    changed["queryStringParameters"] = query
    changed["rawQueryString"] = urlencode(query)
    return changed


def _after_a_change(
    call: Callable[[dict[str, Any]], tuple[float, dict[str, Any]]],
    event: dict[str, Any],
    database_url: str,
    repeat: int,
) -> dict[str, Any]:
    """The request right after a committed stock change (a POS selling while another reads):
    nothing cached is current, so the answer is read from PostgreSQL. Its median time, its
    status and the statements the handler sent (the last run's). The stock is put back
    afterwards."""
    from inventory.data.db import get_connection

    bump = (
        "UPDATE products SET current_stock = current_stock + %s "
        "WHERE id = (SELECT id FROM products ORDER BY id LIMIT 1)"
    )
    runs = []
    statements = StatementCounter()
    with psycopg.connect(database_url, autocommit=True) as connection:
        for _ in range(repeat):
            connection.execute(bump, (1,))
            statements = StatementCounter()
            with statements.counting(get_connection()):
                runs.append(call(event))
        connection.execute(bump, (-repeat,))
    return {
        "ms": median([ms for ms, _ in runs]),
        "status": runs[-1][1].get("statusCode"),
        "statements": statements.count,
    }


def _every_page_ms(
    call: Callable[[dict[str, Any]], tuple[float, dict[str, Any]]], event: dict[str, Any]
) -> float:
    """Every page once, following the Link header, as a POS reading the whole catalogue."""
    from urllib.parse import parse_qs, urlsplit

    total = 0.0
    request: dict[str, Any] | None = event
    while request is not None:
        elapsed, answer = call(request)
        total += elapsed
        link = _header(answer.get("headers") or {}, "link")
        if link is None:
            request = None
        else:
            query = parse_qs(urlsplit(link.split(">", 1)[0].lstrip("<")).query)
            request = _with_query(event, {key: values[0] for key, values in query.items()})
    return round(total, 1)
