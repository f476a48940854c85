"""The monitor, check, cooldown and health handlers, fed the committed events/ files."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import psycopg
import pytest

from functions.cooldowns_clear import app as cooldowns_clear
from functions.health import app as health
from functions.inventory_monitor import app as inventory_monitor
from functions.notifications_check import app as notifications_check
from inventory.data.cooldowns import get_cooldown_store
from tests.support import services
from tests.support.catalog import component, insert_catalog, package
from tests.support.events import (
    FakeLambdaContext,
    http_event,
    load_event,
    refused_fields,
    response_json,
)
from tests.support.sales import notification_keys

TOKEN = "local-dev-cron-token"  # the placeholder in events/cron_inventory_monitor.json
BUCKET = package("Bucket of 5 Beers", [component("Corona", 5, 3)])
TOWER = package("Beer Tower", [component("Corona", 10, 3)])
FINE = package("Gin Tonic", [component("Gin", 50, 5000)])


@pytest.fixture
def bar(db: psycopg.Connection[Any], cooldown_table: str) -> psycopg.Connection[Any]:
    """Two unavailable packages sharing a bottleneck, one fine package, a cooldown table."""
    insert_catalog(db, [BUCKET, TOWER, FINE])
    return db


@pytest.fixture
def cron_secret(service_env: pytest.MonkeyPatch) -> str:
    service_env.setenv("CRON_SECRET", TOKEN)
    return TOKEN


# --- the monitor function: EventBridge and the cron route --------------------------------


def test_scheduled_event_runs_the_monitor_and_returns_the_result(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    result = inventory_monitor.lambda_handler(
        load_event("inventory_monitor_scheduled.json"), lambda_context
    )
    assert result["success"] is True
    assert result["summary"]["packages_checked"] == 3
    assert result["summary"]["notifications_sent"] == 3  # two packages and their bottleneck
    assert result["summary"]["bottlenecks_detected"] == 1
    assert result["timestamp"].endswith("Z")
    assert len(notification_keys(bar)) == 3


def test_scheduled_run_keeps_its_reserve_of_the_lambda_s_remaining_time(
    bar: psycopg.Connection[Any],
) -> None:
    # Four seconds left is inside the reserve for the insert: no claim may start.
    context = FakeLambdaContext()
    context.get_remaining_time_in_millis = lambda: 4_000  # type: ignore[method-assign]

    result = inventory_monitor.lambda_handler(
        load_event("inventory_monitor_scheduled.json"), context
    )

    assert result["success"] is True
    assert result["summary"]["notifications_deferred"] == 3
    assert result["summary"]["notifications_sent"] == 0
    assert notification_keys(bar) == []


def test_scheduled_event_with_the_database_down_returns_success_false(
    service_env: pytest.MonkeyPatch, cooldown_table: str, lambda_context: FakeLambdaContext
) -> None:
    service_env.setenv("DATABASE_URL", f"postgresql://x@127.0.0.1:{services.free_port()}/x")
    result = inventory_monitor.lambda_handler(
        load_event("inventory_monitor_scheduled.json"), lambda_context
    )
    assert result["success"] is False
    assert result["summary"]["errors"] == ["evaluation failed: The database is unreachable."]


def test_cron_with_the_bearer_token_runs_the_monitor(
    bar: psycopg.Connection[Any], cron_secret: str, lambda_context: FakeLambdaContext
) -> None:
    response = inventory_monitor.lambda_handler(
        load_event("cron_inventory_monitor.json"), lambda_context
    )
    assert response["statusCode"] == 200
    body = response_json(response)
    assert body["success"] is True
    assert body["data"]["success"] is True
    assert body["data"]["summary"]["notifications_sent"] == 3


def test_cron_with_the_token_in_the_query_runs_the_monitor(
    bar: psycopg.Connection[Any], cron_secret: str, lambda_context: FakeLambdaContext
) -> None:
    event = http_event("cron_inventory_monitor.json", query={"token": cron_secret})
    del event["headers"]["authorization"]
    response = inventory_monitor.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 200
    assert response_json(response)["data"]["summary"]["packages_checked"] == 3


def _without_authorization(event: dict[str, Any]) -> dict[str, Any]:
    del event["headers"]["authorization"]
    return event


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(_without_authorization(load_event("cron_inventory_monitor.json")), id="none"),
        pytest.param(
            http_event("cron_inventory_monitor.json", headers={"authorization": "Bearer nope"}),
            id="wrong-bearer",
        ),
        pytest.param(
            _without_authorization(
                http_event("cron_inventory_monitor.json", query={"token": "local-dev-cron-tokeN"})
            ),
            id="wrong-query",
        ),
        pytest.param(
            http_event("cron_inventory_monitor.json", headers={"authorization": "Bearer "}),
            id="empty-bearer",
        ),
        pytest.param(
            _without_authorization(http_event("cron_inventory_monitor.json", query={"token": ""})),
            id="empty-query",
        ),
        pytest.param(
            http_event("cron_inventory_monitor.json", headers={"authorization": TOKEN}),
            id="no-bearer-scheme",
        ),
        pytest.param(
            http_event("cron_inventory_monitor.json", headers={"authorization": "Bearer ünïcode"}),
            id="non-ascii",
        ),
    ],
)
def test_cron_refuses_a_missing_wrong_or_empty_token(
    bar: psycopg.Connection[Any],
    cron_secret: str,
    event: dict[str, Any],
    lambda_context: FakeLambdaContext,
) -> None:
    response = inventory_monitor.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 401
    assert response_json(response)["error"]["code"] == "unauthorized"
    assert notification_keys(bar) == []  # nothing ran


@pytest.mark.parametrize("configured", [None, ""])
def test_cron_refuses_everything_when_no_secret_is_configured(
    bar: psycopg.Connection[Any],
    service_env: pytest.MonkeyPatch,
    configured: str | None,
    lambda_context: FakeLambdaContext,
) -> None:
    service_env.delenv("CRON_SECRET", raising=False)
    service_env.delenv("CRON_SECRET_ARN", raising=False)
    if configured is not None:
        service_env.setenv("CRON_SECRET", configured)
    for event in (
        load_event("cron_inventory_monitor.json"),
        http_event("cron_inventory_monitor.json", headers={"authorization": "Bearer "}),
        _without_authorization(http_event("cron_inventory_monitor.json", query={"token": ""})),
    ):
        response = inventory_monitor.lambda_handler(event, lambda_context)
        assert response["statusCode"] == 401
    assert notification_keys(bar) == []


def test_cron_token_never_appears_in_the_logs(
    bar: psycopg.Connection[Any],
    service_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    lambda_context: FakeLambdaContext,
) -> None:
    secret = f"cron-{uuid.uuid4().hex}"
    wrong = f"wrong-{uuid.uuid4().hex}"
    service_env.setenv("CRON_SECRET", secret)
    service_env.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    service_env.setenv("POWERTOOLS_DEV", "true")
    caplog.set_level(logging.DEBUG)
    statuses = []
    for token in (secret, wrong):
        for event in (
            http_event("cron_inventory_monitor.json", headers={"authorization": f"Bearer {token}"}),
            _without_authorization(
                http_event("cron_inventory_monitor.json", query={"token": token})
            ),
        ):
            statuses.append(inventory_monitor.lambda_handler(event, lambda_context)["statusCode"])
    assert statuses == [200, 200, 401, 401]
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert "Monitor run finished" in logged  # the logs were captured
    assert secret not in logged
    assert wrong not in logged


def test_cron_with_the_database_down_is_a_503(
    service_env: pytest.MonkeyPatch,
    cooldown_table: str,
    cron_secret: str,
    lambda_context: FakeLambdaContext,
) -> None:
    service_env.setenv("DATABASE_URL", f"postgresql://x@127.0.0.1:{services.free_port()}/x")
    response = inventory_monitor.lambda_handler(
        load_event("cron_inventory_monitor.json"), lambda_context
    )
    assert response["statusCode"] == 503
    assert response_json(response)["error"]["message"] == (
        "evaluation failed: The database is unreachable."
    )


# --- POST and GET /api/inventory/notifications/check -------------------------------------


def _check(body: Any, context: FakeLambdaContext) -> dict[str, Any]:
    response: dict[str, Any] = notifications_check.lambda_handler(
        http_event("notifications_check_post.json", body=body), context
    )
    return response


def test_post_check_with_the_event_file_runs_the_full_check(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    response = notifications_check.lambda_handler(
        load_event("notifications_check_post.json"), lambda_context
    )
    assert response["statusCode"] == 200
    data = response_json(response)["data"]
    assert data["type"] == "full_check"
    assert data["summary"]["notifications_sent"] == 3
    assert data["summary"]["errors"] == []


@pytest.mark.parametrize("body", [None, ""], ids=["no-body", "empty-body"])
def test_post_check_without_a_body_runs_the_full_check(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext, body: str | None
) -> None:
    # As a generated client sends it: Content-Type: application/json and no body.
    event = load_event("notifications_check_post.json")
    event["headers"]["content-type"] = "application/json"
    if body is None:
        del event["body"]
    else:
        event["body"] = body
    response = notifications_check.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 200
    assert response_json(response)["data"]["type"] == "full_check"


def test_package_check_sends_once_then_reports_the_cooldown(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    body = {"package_id": str(BUCKET.package_id)}
    first = response_json(_check(body, lambda_context))["data"]
    assert first["type"] == "package_check"
    result = first["result"]
    assert result["triggered"] is True
    assert result["type"] == "package_unavailable"
    stored = bar.execute("SELECT id::text FROM notifications").fetchall()
    assert [row[0] for row in stored] == [result["notification_id"]]

    again = response_json(_check(body, lambda_context))["data"]["result"]
    assert again["triggered"] is False
    assert again["type"] == "package_unavailable"
    assert "cooldown" in again["reason"]


def test_package_check_of_an_available_package_says_why_nothing_was_sent(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    result = response_json(_check({"package_id": str(FINE.package_id)}, lambda_context))
    assert result["data"]["result"]["triggered"] is False
    assert result["data"]["result"]["reason"] == "Gin Tonic is available: 100 can be sold."


def test_package_check_of_an_unknown_package_is_a_404(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    response = _check({"package_id": str(uuid.uuid4())}, lambda_context)
    assert response["statusCode"] == 404


def test_bottleneck_check_alone_returns_a_result_per_bottleneck(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    data = response_json(_check({"check_bottlenecks": True}, lambda_context))["data"]
    assert data["type"] == "bottleneck_check"
    [result] = data["results"]
    assert result["triggered"] is True
    assert result["type"] == "package_bottleneck"
    assert result["reference_id"] == str(BUCKET.components[0].product_id)
    assert [k[0] for k in notification_keys(bar)] == ["package_bottleneck"]


def test_bottlenecks_with_check_all_run_everything(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    body = {"check_bottlenecks": True, "check_all": True}
    assert response_json(_check(body, lambda_context))["data"]["type"] == "full_check"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ('{"check_all": tru', 400),
        ("[1, 2", 400),
        ({"check_all": "yes"}, 400),  # the wrong type: the shape is wrong
        ({"check_bottlenecks": 1}, 400),
        ({"package_id": "not-a-uuid"}, 400),
        ({"package_id": 42}, 400),
        ({"chek_all": True}, 400),
        ([], 400),
        ([None], 400),
        ([{"check_all": True}], 400),
        ("7", 400),
        ("null", 400),  # was 400 here and 422 on the cart
        # The right shape, values that ask for no check or drop one: 422, nothing runs.
        ({"check_all": False}, 422),  # ran a full check
        ({"check_bottlenecks": False}, 422),
        ({"check_all": False, "check_bottlenecks": False}, 422),
        ({"package_id": str(uuid.uuid4()), "check_bottlenecks": True}, 422),  # dropped a check
        ({"package_id": str(uuid.uuid4()), "check_all": True}, 422),
    ],
)
def test_post_check_rejects_malformed_or_invalid_bodies(
    bar: psycopg.Connection[Any], body: Any, status: int, lambda_context: FakeLambdaContext
) -> None:
    response = _check(body, lambda_context)
    assert response["statusCode"] == status
    error = response_json(response)["error"]
    assert error["code"] == ("malformed_request" if status == 400 else "validation_error")
    assert error["details"]  # the refused field(s), or the body as a whole
    assert bar.execute("SELECT count(*) FROM notifications").fetchone() == (0,)


def test_get_check_counts_live_cooldowns_by_type(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    _check({}, lambda_context)
    response = notifications_check.lambda_handler(
        load_event("notifications_check_get.json"), lambda_context
    )
    assert response["statusCode"] == 200
    data = response_json(response)["data"]
    assert data == {
        "total_entries": 3,
        "by_type": {
            "package_unavailable": 2,
            "package_low_stock": 0,
            "package_bottleneck": 1,
            "stockout_predicted": 0,
        },
    }


def test_get_check_with_dynamodb_down_is_a_503(
    db: psycopg.Connection[Any],
    cooldown_table: str,
    service_env: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
) -> None:
    service_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{services.free_port()}")
    get_cooldown_store.cache_clear()
    response = notifications_check.lambda_handler(
        load_event("notifications_check_get.json"), lambda_context
    )
    assert response["statusCode"] == 503


# --- DELETE /api/inventory/notifications/cooldowns ---------------------------------------


def test_clearing_one_type_lets_those_alerts_be_sent_again(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    _check({}, lambda_context)
    response = cooldowns_clear.lambda_handler(load_event("cooldowns_clear.json"), lambda_context)
    assert response["statusCode"] == 200
    assert response_json(response)["data"]["cleared"] == 2
    summary = response_json(_check({}, lambda_context))["data"]["summary"]
    assert summary["notifications_sent"] == 2  # the two packages; the bottleneck still cools
    assert summary["notifications_suppressed"] == 1


def test_clearing_by_reference_and_clearing_all(
    bar: psycopg.Connection[Any],
    lambda_context: FakeLambdaContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _check({}, lambda_context)
    by_reference = http_event("cooldowns_clear.json", query={"reference_id": str(TOWER.package_id)})
    client_id = by_reference["requestContext"]["authorizer"]["jwt"]["claims"]["client_id"]
    caplog.clear()
    assert response_json(cooldowns_clear.lambda_handler(by_reference, lambda_context)) == {
        "success": True,
        "data": {
            "cleared": 1,
            "type": None,
            "reference_id": str(TOWER.package_id),
            "cleared_by": client_id,
        },
    }
    (line,) = [record for record in caplog.records if record.getMessage() == "Cooldowns cleared"]
    logged = (getattr(line, "caller_client_id", None), getattr(line, "reference_id", None))
    assert logged == (client_id, str(TOWER.package_id))
    everything = http_event("cooldowns_clear.json", query={"all": "true"})
    cleared = response_json(cooldowns_clear.lambda_handler(everything, lambda_context))
    assert cleared["data"]["cleared"] == 2


@pytest.mark.parametrize(
    "query",
    [
        {},  # clearing everything must be said: ?all=true
        {"referenceId": str(TOWER.package_id)},  # a typo of reference_id
        {"reference_id": str(TOWER.package_id), "dry_run": "true"},
        {"all": "true", "type": "package_unavailable"},
    ],
    ids=["nothing", "typo", "unknown-beside-known", "all-with-a-filter"],
)
def test_a_clear_that_does_not_say_what_it_clears_is_a_400_and_deletes_nothing(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext, query: dict[str, str]
) -> None:
    _check({}, lambda_context)
    before = response_json(
        notifications_check.lambda_handler(
            load_event("notifications_check_get.json"), lambda_context
        )
    )["data"]["total_entries"]
    event = http_event("cooldowns_clear.json", query=query)
    response = cooldowns_clear.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 400
    assert response_json(response)["error"]["code"] == "malformed_request"
    after = response_json(
        notifications_check.lambda_handler(
            load_event("notifications_check_get.json"), lambda_context
        )
    )["data"]["total_entries"]
    assert after == before == 3


@pytest.mark.parametrize(
    ("query", "status"),
    [({"type": "package_sideways"}, 422), ({"reference_id": "not-a-uuid"}, 400)],
)
def test_clearing_with_a_bad_parameter_is_refused_naming_it(
    cooldown_table: str, query: dict[str, str], status: int, lambda_context: FakeLambdaContext
) -> None:
    event = http_event("cooldowns_clear.json", query=query)
    response = cooldowns_clear.lambda_handler(event, lambda_context)
    assert response["statusCode"] == status
    assert refused_fields(response_json(response)["error"]) == [("query", *query)]


# --- GET /api/health ---------------------------------------------------------------------


def test_health_says_up_and_nothing_more_when_both_dependencies_answer(
    db: psycopg.Connection[Any], cooldown_table: str, lambda_context: FakeLambdaContext
) -> None:
    response = health.lambda_handler(load_event("health.json"), lambda_context)
    assert response["statusCode"] == 200
    assert response_json(response)["data"] == {"status": "up"}


def test_health_is_a_503_naming_no_dependency_and_the_log_says_which(
    db: psycopg.Connection[Any],
    cooldown_table: str,
    service_env: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{services.free_port()}")
    get_cooldown_store.cache_clear()
    response = health.lambda_handler(load_event("health.json"), lambda_context)
    assert response["statusCode"] == 503
    body = response["body"]
    assert "cooldown" not in body
    assert "postgres" not in body.lower()
    failed = [r for r in caplog.records if r.getMessage() == "Health check failed"]
    assert [getattr(record, "dependency", None) for record in failed] == ["cooldown_table"]


def test_scheduled_run_publishes_emf_metrics(
    bar: psycopg.Connection[Any],
    capsys: pytest.CaptureFixture[str],
    lambda_context: FakeLambdaContext,
) -> None:
    import json

    from inventory.observability import metrics

    metrics.clear_metrics()  # runs outside a handler elsewhere in this process buffer metrics
    inventory_monitor.lambda_handler(load_event("inventory_monitor_scheduled.json"), lambda_context)
    blobs = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and '"_aws"' in line
    ]
    published = {
        metric["Name"]: blob[metric["Name"]]
        for blob in blobs
        for directive in blob["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }
    assert published["PackagesChecked"] == [3]
    assert published["NotificationsSent"] == [3]
    assert published["BottlenecksDetected"] == [1]
    assert published["MonitorErrors"] == [0]
    assert "MonitorDuration" in published


# --- configuration faults: a 500 without details over HTTP, success false when scheduled -----


def test_misconfigured_full_check_is_a_500_without_the_details(
    bar: psycopg.Connection[Any],
    service_env: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
) -> None:
    service_env.setenv("PACKAGE_LOW_STOCK_THRESHOLD", "5")
    response = _check({}, lambda_context)
    assert response["statusCode"] == 500
    assert response_json(response)["error"] == {
        "code": "configuration_error",
        "message": "The service is misconfigured.",
        "details": [],
    }
    assert "PACKAGE_LOW_STOCK_THRESHOLD" not in response["body"]


def test_misconfigured_scheduled_run_reports_failure_without_the_details(
    bar: psycopg.Connection[Any],
    service_env: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
) -> None:
    service_env.setenv("PACKAGE_LOW_STOCK_THRESHOLD", "5")
    result = inventory_monitor.lambda_handler(
        load_event("inventory_monitor_scheduled.json"), lambda_context
    )
    assert result["success"] is False
    assert result["summary"]["errors"] == [
        "evaluation failed: the service is misconfigured (details in the log)"
    ]
