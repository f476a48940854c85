"""stock.changed events in `make run` (issue 18): the template's event buses in moto, and the
template's rules on them delivered to its functions, as EventBridge would.

- Every AWS::Events::EventBus of template.yaml is created in moto's server at start-up (the
  one serving DynamoDB); a !Ref to one means its local name (`inventory-local-stock-events`),
  so the functions' STOCK_EVENT_BUS_NAME points at it. Not journaled: a restart starts with
  an empty bus, and events still owed in PostgreSQL are published by the next sweep.
- Every rule of the template on one of those buses (`Template.event_rules`: an
  AWS::Events::Rule with `!GetAtt <Function>.Arn` targets, or a function's `EventBridgeRule`
  event) becomes the same rule in moto, on the same bus with the same pattern, so moto does
  the matching. Its target is a queue of the rule's own per function, which make run's SQS
  loop (`devtools.local_delivery.QueuePoller`) polls: each message is one event, and the
  function is invoked with it as EventBridge invokes a Lambda target, the event's envelope
  (version, id, detail-type, source, account, time, region, resources, detail).
- An invocation that raises is tried again (the message comes back after the queue's
  visibility timeout), three attempts in all, as Lambda does with an asynchronous invocation;
  then the event is dropped, saying so.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from devtools.template import (
    LOCAL_ACCOUNT_ID,
    LOCAL_REGION,
    LOCAL_STACK_NAME,
    EventRule,
    Template,
)

# The keys of the event EventBridge passes a Lambda target, in its order.
ENVELOPE_KEYS = (
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
    "detail",
)
# Lambda's asynchronous invocation: the first attempt and two retries.
ATTEMPTS = 3
# Locally a failed event comes back within seconds.
_VISIBILITY_TIMEOUT_SECONDS = "5"
_QUEUE_NAME_LIMIT = 80  # SQS

Handler = Callable[[dict[str, Any], Any], Any]
Invoke = Callable[[Any, dict[str, Any]], Any]
Echo = Callable[[str], None]


def local_client(service: str, endpoint: str) -> Any:
    """A boto3 client of moto's server (or the services `make run` attached to)."""
    import boto3

    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=LOCAL_REGION,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "local"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
    )


def create_event_buses(template: Template, endpoint: str) -> dict[str, str]:
    """Each bus's local name, by logical id (created when missing)."""
    events = local_client("events", endpoint)
    existing = {bus["Name"] for bus in events.list_event_buses().get("EventBuses", [])}
    for name in template.event_buses.values():
        if name not in existing:
            events.create_event_bus(Name=name)
    return dict(template.event_buses)


def queue_name(bus_name: str, rule: EventRule, function: str) -> str:
    """`<bus>-<rule>-<function>`; a longer name than SQS takes is cut and made unique again by
    a hash of the whole."""
    name = f"{bus_name}-{rule.name}-{function}"
    if len(name) <= _QUEUE_NAME_LIMIT:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: _QUEUE_NAME_LIMIT - 9]}-{digest}"


def _queue(sqs: Any, name: str) -> str:
    """The queue's URL, created (or its attributes set, when it exists) as a rule's target."""
    attributes = {"VisibilityTimeout": _VISIBILITY_TIMEOUT_SECONDS}
    try:
        return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    except sqs.exceptions.QueueNameExists:  # made earlier with other attributes
        url = str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        return url


def route_rule(rule: EventRule, bus_name: str, endpoint: str) -> list[tuple[str, str]]:
    """The rule in moto, on `bus_name` with its pattern, a queue per function as its targets;
    (function logical id, queue URL) for each."""
    events, sqs = local_client("events", endpoint), local_client("sqs", endpoint)
    rule_name = f"{LOCAL_STACK_NAME}-{rule.name}"[:64]
    events.put_rule(Name=rule_name, EventBusName=bus_name, EventPattern=json.dumps(rule.pattern))
    routed = []
    for function in rule.functions:
        url = _queue(sqs, queue_name(bus_name, rule, function))
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_targets(
            Rule=rule_name, EventBusName=bus_name, Targets=[{"Id": function[:64], "Arn": arn}]
        )
        routed.append((function, url))
    return routed


def envelope(body: str) -> dict[str, Any]:
    """The event as EventBridge passes it to a Lambda target, from the message its rule put on
    the queue: moto's SQS target leaves out `account` (the local account, moto's too)."""
    event = {"version": "0", "account": LOCAL_ACCOUNT_ID, "region": LOCAL_REGION, "resources": []}
    event |= json.loads(body)
    return {key: event[key] for key in ENVELOPE_KEYS}


def rule_invoker(invoke: Invoke, spec: Any, rule: EventRule, echo: Echo) -> Handler:
    """An SQS-batch handler that invokes `spec` once per event, with the event's envelope;
    a failed event goes back to the queue, and after ATTEMPTS is dropped."""

    def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            try:
                invoke(spec, envelope(record["body"]))
            except Exception as error:  # noqa: BLE001 (Lambda retries a failed async invoke)
                received = int((record.get("attributes") or {}).get("ApproximateReceiveCount", 1))
                said = f"{type(error).__name__}: {error}"
                if received < ATTEMPTS:
                    failures.append({"itemIdentifier": record["messageId"]})
                    echo(f"  {spec.logical_id} failed on an event of {rule.name} ({said}): again")
                else:
                    echo(f"  {spec.logical_id} failed on an event of {rule.name} ({said}): dropped")
        return {"batchItemFailures": failures}

    return handler


def rule_sources(
    template: Template,
    resources: Mapping[str, str],
    endpoint: str,
    invoke: Invoke,
    echo: Echo,
) -> list[tuple[str, int, Handler]]:
    """The template's rules routed in moto, as sources of make run's SQS loop: (queue URL,
    batch size, handler) each. Rules on a bus with no local name are left out."""
    sources = []
    for rule in template.event_rules:
        bus_name = resources.get(rule.bus)
        if not bus_name:
            continue
        for function, url in route_rule(rule, bus_name, endpoint):
            spec = template.functions[function]
            sources.append((url, 10, rule_invoker(invoke, spec, rule, echo)))
    return sources
