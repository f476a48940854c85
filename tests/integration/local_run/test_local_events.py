"""`make run`'s stock event bus (devtools/local_events.py): the template's buses in moto, its
rules on them routed by moto to queues of their own, and make run's SQS loop invoking the
rules' functions with EventBridge's envelope. The rules come from a small template of the
test's own (the real one has no consumer yet); the events from the real publisher."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from devtools import local_events
from devtools.local_delivery import Outbox, QueuePoller
from devtools.local_events import ENVELOPE_KEYS, create_event_buses, rule_sources
from devtools.local_services import LocalServices
from devtools.template import EventRule, Template, load_template, parse_template
from inventory.services.stock_events import publish_after_commit
from tests.support.stock_events import owe, point_events_at

PATTERN = {"source": ["inventory-automation"], "detail-type": ["stock.changed"]}

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  StockEventBus:
    Type: AWS::Events::EventBus
    Properties:
      Name: !Sub "${{AWS::StackName}}-stock-events-{suffix}"
  SalesConsumerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: consumer/
      Handler: app.lambda_handler
  ReceiptsConsumerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: consumer/
      Handler: app.lambda_handler
      Events:
        Receipts:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref StockEventBus
            Pattern:
              source: [inventory-automation]
              detail-type: [stock.changed]
              detail: {{cause: [receipt]}}
  SalesRule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !GetAtt StockEventBus.Name
      EventPattern:
        source: [inventory-automation]
        detail-type: [stock.changed]
        detail: {{cause: [sale]}}
      Targets:
        - Id: sales
          Arn: !GetAtt SalesConsumerFunction.Arn
  # Not routed: a rule on the default bus, a disabled one, one without a function target.
  DefaultBusRule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {{source: [inventory-automation]}}
      Targets: [{{Id: sales, Arn: !GetAtt SalesConsumerFunction.Arn}}]
  DisabledRule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref StockEventBus
      State: DISABLED
      EventPattern: {{source: [inventory-automation]}}
      Targets: [{{Id: sales, Arn: !GetAtt SalesConsumerFunction.Arn}}]
  QueueRule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref StockEventBus
      EventPattern: {{source: [inventory-automation]}}
      Targets: [{{Id: queue, Arn: !GetAtt SomeQueue.Arn}}]
  SomeQueue:
    Type: AWS::SQS::Queue
"""


@pytest.fixture
def template(tmp_path: Path) -> Template:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE.format(suffix=uuid.uuid4().hex[:10]))
    return parse_template(path)


class Recorded:
    """What the local runtime invoked: (function, event), in order; `failing` raise first."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures_left: dict[str, int] = {}
        self.lines: list[str] = []
        # E-mails of other tests' deliveries the shared moto still holds: not this test's.
        self.outbox: list[str] = []

    def invoke(self, spec: Any, event: dict[str, Any]) -> None:
        self.calls.append((spec.logical_id, event))
        if self.failures_left.get(spec.logical_id, 0) > 0:
            self.failures_left[spec.logical_id] -= 1
            raise RuntimeError("consumer bug")


def _poller(
    template: Template, endpoint: str, recorded: Recorded
) -> tuple[QueuePoller, dict[str, str]]:
    resources = create_event_buses(template, endpoint)
    sources = rule_sources(template, resources, endpoint, recorded.invoke, recorded.lines.append)
    return QueuePoller(endpoint, sources, Outbox(recorded.outbox.append), recorded.lines.append), (
        resources
    )


def test_the_rules_on_the_templates_bus_that_invoke_its_functions_are_found(
    template: Template,
) -> None:
    assert template.event_rules == [
        EventRule(
            "SalesRule",
            "StockEventBus",
            {**PATTERN, "detail": {"cause": ["sale"]}},
            ("SalesConsumerFunction",),
        ),
        EventRule(
            "ReceiptsConsumerFunctionReceipts",
            "StockEventBus",
            {**PATTERN, "detail": {"cause": ["receipt"]}},
            ("ReceiptsConsumerFunction",),
        ),
    ]
    assert list(template.event_buses) == ["StockEventBus"]
    assert template.event_buses["StockEventBus"].startswith("inventory-local-stock-events-")


def test_each_bus_rule_and_function_has_a_queue_of_its_own_within_sqss_limit() -> None:
    rule = EventRule("ReceiptsConsumerFunctionReceipts", "StockEventBus", PATTERN, ("F",))
    names = {
        local_events.queue_name(bus, rule, function)
        for bus in ("inventory-local-stock-events-a", "inventory-local-stock-events-b")
        for function in ("ReceiptsConsumerFunction", "ReceiptsConsumerFunction2")
    }

    assert len(names) == 4
    assert all(len(name) <= 80 for name in names)
    assert local_events.queue_name("bus", rule, "F") == "bus-ReceiptsConsumerFunctionReceipts-F"


def test_the_real_template_has_its_bus_and_no_consumer_rule_yet() -> None:
    assert load_template().event_buses == {"StockEventBus": "inventory-local-stock-events"}
    assert load_template().event_rules == []


def test_functions_get_the_local_bus_and_moto_as_eventbridge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INVENTORY_LOCAL_DIR", str(tmp_path))
    template = load_template()
    services = LocalServices(
        database_url="postgresql://127.0.0.1:1/x",
        dynamodb_endpoint="http://127.0.0.1:9",
        cron_secret="token",
        resources=dict(template.event_buses),
        local_aws=True,
    )
    spec = template.functions["InventoryMonitorFunction"]

    environment = {
        **template.local_environment(spec, services.resources),
        **services.environment(template),
    }

    assert environment["STOCK_EVENT_BUS_NAME"] == "inventory-local-stock-events"
    assert environment["AWS_ENDPOINT_URL_EVENTBRIDGE"] == "http://127.0.0.1:9"


def test_a_published_event_reaches_the_function_whose_rule_matches_with_the_envelope(
    db: psycopg.Connection[Any],
    template: Template,
    moto_endpoint: str,
    service_env: pytest.MonkeyPatch,
) -> None:
    recorded = Recorded()
    poller, resources = _poller(template, moto_endpoint, recorded)
    point_events_at(moto_endpoint, service_env)
    service_env.setenv("STOCK_EVENT_BUS_NAME", resources["StockEventBus"])
    from inventory.config import get_settings

    get_settings.cache_clear()
    (sale,) = owe(db)
    (receipt,) = owe(db, cause="receipt", sale_id=None, movement_id=uuid.uuid4())

    assert publish_after_commit([sale, receipt]).published == 2
    handled = poller.drain()

    assert handled == 2
    assert [(function, event["detail"]["event_id"]) for function, event in recorded.calls] == [
        ("SalesConsumerFunction", str(sale)),
        ("ReceiptsConsumerFunction", str(receipt)),
    ]
    for _, event in recorded.calls:
        assert tuple(event) == ENVELOPE_KEYS
        assert (event["version"], event["source"], event["detail-type"]) == (
            "0",
            "inventory-automation",
            "stock.changed",
        )
        assert (event["account"], event["region"], event["resources"]) == (
            "123456789012",
            "us-east-1",
            [],
        )
        assert event["time"].endswith("Z")
        uuid.UUID(event["id"])  # EventBridge's own id; consumers dedupe on detail.event_id
    assert recorded.calls[0][1]["detail"]["products"][0]["stock_after"] == 3.5
    assert poller.drain() == 0


def test_a_function_that_fails_gets_the_event_again_then_it_is_dropped(
    db: psycopg.Connection[Any],
    template: Template,
    moto_endpoint: str,
    service_env: pytest.MonkeyPatch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(local_events, "_VISIBILITY_TIMEOUT_SECONDS", "1")
    recorded = Recorded()
    recorded.failures_left["SalesConsumerFunction"] = local_events.ATTEMPTS
    poller, resources = _poller(template, moto_endpoint, recorded)
    point_events_at(moto_endpoint, service_env)
    service_env.setenv("STOCK_EVENT_BUS_NAME", resources["StockEventBus"])
    from inventory.config import get_settings

    get_settings.cache_clear()
    (sale,) = owe(db)
    publish_after_commit([sale])

    for _ in range(local_events.ATTEMPTS):
        poller.drain()
        time.sleep(1.2)  # the queue's visibility timeout

    assert [function for function, _ in recorded.calls] == ["SalesConsumerFunction"] * 3
    assert [line.rsplit(": ", 1)[1] for line in recorded.lines] == ["again", "again", "dropped"]
    assert poller.drain() == 0
