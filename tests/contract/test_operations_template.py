"""template.yaml as something to operate: limits, retention, least privilege, alarms, dashboard.

These read the template itself, so a function, route or metric added later without its log
group, alarms or limits fails here instead of in production.
"""

from __future__ import annotations

import json
import re
from typing import Any

import psycopg
import pytest

from devtools.template import ROOT, load_template, load_yaml

HTTP_API_TIMEOUT_SECONDS = 30
# What a function needs after its last database wait gave up: the 503 or the failed result.
ANSWER_SECONDS = 2
METRICS_NAMESPACE = "InventoryAutomation"
# Emitted by the delivery function, not the monitor (tests/contract/test_delivery_resources.py).
DELIVERY_METRICS = {"DeliveriesSent", "DeliveryAttemptsFailed", "DeliveriesDead"}
# Emitted only when a publish fails, by the stock writers and the monitor's sweep
# (tests/contract/test_stock_event_resources.py).
STOCK_EVENT_METRICS = {"StockEventsPublishFailed"}
# The routes that run a full evaluation or reset the cooldowns: stricter throttling.
EXPENSIVE_ROUTES = {
    "POST /api/inventory/notifications/check",
    "GET /api/cron/inventory-monitor",
    "DELETE /api/inventory/notifications/cooldowns",
}


def _raw() -> dict[str, Any]:
    return load_yaml(ROOT / "template.yaml")


def _resources(kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in _raw()["Resources"].items()
        if resource.get("Type") == kind
    }


def _globals() -> dict[str, Any]:
    globals_: dict[str, Any] = _raw()["Globals"]["Function"]
    return globals_


FUNCTIONS = sorted(load_template().functions)


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_function_timeout_is_below_the_http_api_limit_and_above_the_database_deadline(
    logical_id: str,
) -> None:
    spec = load_template().functions[logical_id]
    environment = load_template().local_environment(spec, {})
    connect_ms = int(environment["DB_CONNECT_TIMEOUT_SECONDS"]) * 1000
    statement_ms = int(environment["DB_STATEMENT_TIMEOUT_MS"])
    deadline_ms = float(environment["DB_DEADLINE_SECONDS"]) * 1000

    if spec.routes:  # the delivery function, fed by SQS, answers no HTTP request
        assert spec.timeout_seconds < HTTP_API_TIMEOUT_SECONDS
    # A slow statement is cancelled by the server before the deadline cuts the connection,
    # and a database that stops answering is reported before the function times out.
    assert connect_ms < deadline_ms
    assert statement_ms < deadline_ms
    assert deadline_ms + ANSWER_SECONDS * 1000 <= spec.timeout_seconds * 1000


def test_monitor_gets_more_memory_and_time_than_the_read_endpoints() -> None:
    functions = load_template().functions

    monitor = functions["InventoryMonitorFunction"]
    reader = functions["PackagesAvailabilityFunction"]

    assert monitor.memory_mb > reader.memory_mb
    assert monitor.timeout_seconds > reader.timeout_seconds


def test_functions_run_on_arm64() -> None:
    assert _globals()["Architectures"] == ["arm64"]
    for logical_id, resource in _resources("AWS::Serverless::Function").items():
        assert resource["Properties"].get("Architectures", ["arm64"]) == ["arm64"], logical_id


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_function_logs_to_a_log_group_with_retention(logical_id: str) -> None:
    groups = [
        resource["Properties"]
        for resource in _resources("AWS::Logs::LogGroup").values()
        if resource["Properties"].get("LogGroupName")
        == {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}
    ]

    assert len(groups) == 1, f"{logical_id} has no /aws/lambda/<name> log group"
    assert groups[0]["RetentionInDays"]


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_function_has_error_and_throttle_alarms(logical_id: str) -> None:
    watched = {
        resource["Properties"]["MetricName"]
        for resource in _resources("AWS::CloudWatch::Alarm").values()
        if resource["Properties"].get("Namespace") == "AWS/Lambda"
        and {"Name": "FunctionName", "Value": {"Ref": logical_id}}
        in resource["Properties"].get("Dimensions", [])
    }

    assert watched == {"Errors", "Throttles"}


def test_every_alarm_notifies_the_alarm_topic() -> None:
    for logical_id, alarm in _resources("AWS::CloudWatch::Alarm").items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical_id


def test_alarm_email_subscription_exists_only_when_an_address_is_given() -> None:
    (subscription,) = _resources("AWS::SNS::Subscription").values()

    assert subscription["Condition"] == "HasAlarmEmail"
    assert _raw()["Conditions"]["HasAlarmEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }


def test_monitor_alarms_watch_metrics_the_monitor_emits(db: psycopg.Connection[Any]) -> None:
    from inventory.observability import metrics
    from inventory.services.monitor import run_monitor

    run_monitor()
    emitted: dict[str, Any] = dict(metrics.serialize_metric_set())
    metrics.clear_metrics()
    (directive,) = emitted["_aws"]["CloudWatchMetrics"]
    names = {metric["Name"] for metric in directive["Metrics"]}
    dimensions = {name: emitted[name] for group in directive["Dimensions"] for name in group}
    custom = [
        alarm["Properties"]
        for alarm in _resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == METRICS_NAMESPACE
        and alarm["Properties"]["MetricName"] not in DELIVERY_METRICS | STOCK_EVENT_METRICS
    ]

    assert directive["Namespace"] == METRICS_NAMESPACE
    assert {alarm["MetricName"] for alarm in custom} <= names
    for alarm in custom:
        alarm_dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert alarm_dimensions == dimensions, alarm["MetricName"]


def test_seed_alarms_have_the_seed_thresholds() -> None:
    by_metric = {
        alarm["Properties"]["MetricName"]: alarm["Properties"]
        for alarm in _resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == METRICS_NAMESPACE
        and alarm["Properties"].get("Statistic") != "SampleCount"
    }

    assert by_metric["MonitorRunFailed"]["Threshold"] == 1  # success: false
    assert by_metric["MonitorErrors"]["Threshold"] == 5  # errors.length > 5
    assert by_metric["MonitorErrors"]["ComparisonOperator"] == "GreaterThanThreshold"
    assert by_metric["MonitorDuration"]["Threshold"] == 10000  # duration_ms > 10000
    assert by_metric["PackagesChecked"]["Threshold"] == 1  # packages_checked == 0
    assert by_metric["PackagesChecked"]["ComparisonOperator"] == "LessThanThreshold"


def test_dashboard_shows_the_seed_metrics_and_is_valid_json() -> None:
    (dashboard,) = _resources("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    concrete = re.sub(r"\$\{[^}]+\}", "x", body)

    widgets = json.loads(concrete)["widgets"]
    shown = {
        item[1]
        for widget in widgets
        for item in widget["properties"].get("metrics", [])
        if item and item[0] == METRICS_NAMESPACE
    }

    assert {
        "MonitorDuration",
        "PackagesChecked",
        "NotificationsSent",
        "BottlenecksDetected",
        "MonitorErrors",
        "MonitorRunFailed",
        "NotificationsSuppressed",
        "NotificationsDeferred",
    } <= shown


def test_expensive_routes_have_stricter_throttling_than_the_default() -> None:
    api = _raw()["Resources"]["HttpApi"]["Properties"]
    parameters = _raw()["Parameters"]
    default_burst = parameters[api["DefaultRouteSettings"]["ThrottlingBurstLimit"]["Ref"]]

    for route in EXPENSIVE_ROUTES:
        assert route in load_template().routes, f"{route} is not a route of the template"
        burst = parameters[api["RouteSettings"][route]["ThrottlingBurstLimit"]["Ref"]]
        assert burst["Default"] < default_burst["Default"], route


def test_route_settings_name_only_existing_routes() -> None:
    api = _raw()["Resources"]["HttpApi"]["Properties"]

    assert set(api["RouteSettings"]) <= set(load_template().routes)


def test_cors_origins_and_access_logs_are_configured() -> None:
    api = _raw()["Resources"]["HttpApi"]["Properties"]

    assert api["CorsConfiguration"]["AllowOrigins"] == {"Ref": "CorsAllowedOrigins"}
    log_format = json.loads(api["AccessLogSettings"]["Format"])
    assert "routeKey" in log_format
    # The cron route takes ?token=<secret>: nothing that carries the query string is logged.
    assert not any("querystring" in value.lower() for value in log_format.values())


def _policy_documents(entries: list[Any]) -> list[Any]:
    """A function's Policies, both branches of a conditional one
    (!If [condition, policy, !Ref AWS::NoValue]) included."""
    found: list[Any] = []
    for entry in entries:
        conditional = isinstance(entry, dict) and "Fn::If" in entry
        found += entry["Fn::If"][1:] if conditional else [entry]
    return found


def _statements() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for logical_id, resource in _raw()["Resources"].items():
        policies = resource.get("Properties", {}).get("Policies", []) or []
        for policy in _policy_documents(policies):
            if isinstance(policy, dict) and "Statement" in policy:
                found += [(logical_id, statement) for statement in policy["Statement"]]
    return found


def test_inline_policies_name_actions_and_resources_without_wildcards() -> None:
    statements = _statements()

    assert statements
    for logical_id, statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert all("*" not in action for action in actions), logical_id
        assert statement["Resource"] != "*", logical_id


def test_schedule_retries_then_dead_letters_to_an_encrypted_queue() -> None:
    monitor = _raw()["Resources"]["InventoryMonitorFunction"]["Properties"]
    (schedule,) = [e for e in monitor["Events"].values() if e["Type"] == "Schedule"]
    queue = _raw()["Resources"]["MonitorDeadLetterQueue"]["Properties"]

    assert schedule["Properties"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    # Retries stop before the next run (rate(10 minutes)) is due.
    assert schedule["Properties"]["RetryPolicy"]["MaximumEventAgeInSeconds"] < 600
    assert schedule["Properties"]["DeadLetterConfig"]["Arn"] == {
        "Fn::GetAtt": ["MonitorDeadLetterQueue", "Arn"]
    }
    assert monitor["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
    assert queue["SqsManagedSseEnabled"] is True


def test_vpc_config_and_rds_proxy_switch_are_parameters() -> None:
    globals_ = _globals()

    assert globals_["VpcConfig"]["Fn::If"][0] == "InVpc"
    assert globals_["VpcConfig"]["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    variables = globals_["Environment"]["Variables"]
    assert variables["DB_DISABLE_PREPARED_STATEMENTS"] == {"Ref": "UseRdsProxy"}
    assert variables["DATABASE_SECRET_ARN"] == {"Ref": "DatabaseSecretArn"}
    assert "DATABASE_URL" not in variables
