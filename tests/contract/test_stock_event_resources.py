"""template.yaml's stock.changed events (issue 18): the bus, its archive, who is told of it,
who may put events on it, the alarm on failed publishing and the outputs. Read from the
template itself, so a permission widened or a metric renamed fails here."""

from __future__ import annotations

import json
import re
import socket
import uuid
from typing import Any

import pytest

from devtools.template import ROOT, load_template, load_yaml

BUS = "StockEventBus"
BUS_ARN = {"Fn::GetAtt": [BUS, "Arn"]}
# The functions that publish stock.changed events: the monitor's sweep, and (when they are
# added) the writers of stock, PosSaleFunction and StockMovementCreateFunction.
PUBLISHERS = {"InventoryMonitorFunction", "PosSaleFunction", "StockMovementCreateFunction"}


def _raw() -> dict[str, Any]:
    return load_yaml(ROOT / "template.yaml")


def _of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in _raw()["Resources"].items()
        if resource.get("Type") == kind
    }


def _statements(policies: list[Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for entry in policies:
        branches = entry["Fn::If"][1:] if isinstance(entry, dict) and "Fn::If" in entry else [entry]
        for policy in branches:
            if isinstance(policy, dict) and "Statement" in policy:
                found += policy["Statement"]
    return found


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_the_bus_is_the_stacks_own_and_named_after_it() -> None:
    buses = _of_type("AWS::Events::EventBus")

    assert list(buses) == [BUS]
    assert buses[BUS]["Name"] == {"Fn::Sub": "${AWS::StackName}-stock-events"}


def test_its_archive_keeps_seven_days_of_the_stock_events_to_replay() -> None:
    (archive,) = _of_type("AWS::Events::Archive").values()

    assert archive["SourceArn"] == BUS_ARN
    assert archive["RetentionDays"] == 7
    assert archive["EventPattern"] == {"source": ["inventory-automation"]}


def test_every_function_is_told_the_bus() -> None:
    variables = _raw()["Globals"]["Function"]["Environment"]["Variables"]

    assert variables["STOCK_EVENT_BUS_NAME"] == {"Ref": BUS}
    for logical_id, spec in load_template().functions.items():
        assert spec.environment["STOCK_EVENT_BUS_NAME"] == {"Ref": BUS}, logical_id


def test_only_the_publishers_may_put_events_and_only_on_the_bus() -> None:
    puts = {
        logical_id: (statement["Action"], statement["Resource"])
        for logical_id, properties in _of_type("AWS::Serverless::Function").items()
        for statement in _statements(properties.get("Policies") or [])
        if any(action.startswith("events:") for action in _actions(statement))
    }

    assert puts == dict.fromkeys(PUBLISHERS, ("events:PutEvents", BUS_ARN))


def test_failed_publishing_alarms_in_the_monitors_namespace_and_dimension() -> None:
    from inventory.services.stock_events import FAILED_METRIC

    alarms = _of_type("AWS::CloudWatch::Alarm")
    monitor = alarms["MonitorRunFailedAlarm"]
    alarm = alarms["StockEventsPublishFailedAlarm"]

    assert alarm["MetricName"] == FAILED_METRIC
    assert (alarm["Namespace"], alarm["Dimensions"]) == (
        monitor["Namespace"],
        monitor["Dimensions"],
    )
    assert (alarm["Statistic"], alarm["Period"]) == ("Sum", 600)
    # A failure the next sweep fixes does not alarm; failing in two runs' periods in a row does.
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (2, 2)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}]


def test_a_failed_publish_emits_the_metric_the_alarm_watches(
    service_env: pytest.MonkeyPatch,
) -> None:
    from inventory.observability import metrics
    from inventory.services.stock_events import publish_after_commit

    with socket.socket() as probe:  # a database nothing answers for: the publish fails
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    service_env.setenv("DATABASE_URL", f"postgresql://127.0.0.1:{port}/none")
    service_env.setenv("STOCK_EVENT_BUS_NAME", "stock-events")
    metrics.clear_metrics()

    assert publish_after_commit([uuid.uuid4()]).not_published == 1

    emitted: dict[str, Any] = dict(metrics.serialize_metric_set())
    metrics.clear_metrics()
    (directive,) = emitted["_aws"]["CloudWatchMetrics"]
    dimensions = {name: emitted[name] for group in directive["Dimensions"] for name in group}
    alarm = _of_type("AWS::CloudWatch::Alarm")["StockEventsPublishFailedAlarm"]
    assert directive["Namespace"] == alarm["Namespace"]
    assert {metric["Name"] for metric in directive["Metrics"]} == {alarm["MetricName"]}
    assert dimensions == {d["Name"]: d["Value"] for d in alarm["Dimensions"]}


def test_outputs_name_the_bus_and_its_arn() -> None:
    outputs = _raw()["Outputs"]

    assert outputs["StockEventBusName"]["Value"] == {"Ref": BUS}
    assert outputs["StockEventBusArn"]["Value"] == BUS_ARN


def test_the_dashboard_shows_the_metric_and_the_alarm() -> None:
    (dashboard,) = _of_type("AWS::CloudWatch::Dashboard").values()
    body = re.sub(r"\$\{([^}]+)\}", r"\1", dashboard["DashboardBody"]["Fn::Sub"])
    widgets = json.loads(body)["widgets"]
    shown = {
        item[1]
        for widget in widgets
        for item in widget["properties"].get("metrics", [])
        if len(item) > 1
    }
    alarms = {alarm for widget in widgets for alarm in widget["properties"].get("alarms", [])}

    assert "StockEventsPublishFailed" in shown
    assert "StockEventsPublishFailedAlarm.Arn" in alarms
