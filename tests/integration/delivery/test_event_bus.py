"""`publish` (data/event_bus.py) through moto's EventBridge over HTTP, whose rule on the bus
sends every stock.changed event to an SQS queue the test reads: what arrives, how many calls
it took, and what each refused entry becomes. Entry failures moto does not produce for a
well-formed entry (throttling) come from tests/support/eventbridge_proxy.py in front of it."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from inventory.data import event_bus
from inventory.data.event_bus import MAX_CALL_BYTES, BusEvent, publish
from inventory.deadline import MonotonicDeadline
from inventory.rules.stock_events import DETAIL_TYPE, SOURCE, detail_of
from tests.support.eventbridge_proxy import EventBridgeProxy
from tests.support.stock_events import stock_changed


@dataclass(frozen=True)
class Bus:
    name: str
    queue_url: str
    sqs: Any
    events: Any

    def arrived(self, expected: int) -> list[dict[str, Any]]:
        """The EventBridge events the rule put on the queue (waits for `expected`)."""
        found: list[dict[str, Any]] = []
        for _ in range(20):
            answer = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            for message in answer.get("Messages", []):
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
            if len(found) >= expected:
                break
            time.sleep(0.05)
        return found


@pytest.fixture
def bus(moto_endpoint: str, service_env: pytest.MonkeyPatch) -> Iterator[Bus]:
    """A fresh bus whose stock.changed events reach a queue; the production client pointed at
    moto."""
    import boto3

    service_env.setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", moto_endpoint)
    event_bus.events_client.cache_clear()
    events = boto3.client("events", endpoint_url=moto_endpoint)
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint)
    name = f"stock-events-{uuid.uuid4().hex[:12]}"
    events.create_event_bus(Name=name)
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    pattern = {"source": [SOURCE], "detail-type": [DETAIL_TYPE]}
    events.put_rule(Name="all", EventBusName=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="all", EventBusName=name, Targets=[{"Id": "q", "Arn": queue_arn}])
    yield Bus(name, queue_url, sqs, events)
    event_bus.events_client.cache_clear()
    sqs.delete_queue(QueueUrl=queue_url)


@pytest.fixture
def proxy(
    bus: Bus, moto_endpoint: str, service_env: pytest.MonkeyPatch
) -> Iterator[EventBridgeProxy]:
    """The production client pointed at the stand-in in front of moto."""
    running = EventBridgeProxy(moto_endpoint)
    service_env.setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", running.url)
    event_bus.events_client.cache_clear()
    yield running
    running.close()
    event_bus.events_client.cache_clear()


def bus_events(count: int, **changes: Any) -> list[BusEvent]:
    found = []
    for _ in range(count):
        event = stock_changed(**changes)
        found.append(BusEvent(event.event_id, detail_of(event)))
    return found


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_every_event_is_taken_and_arrives_with_its_source_type_and_detail(bus: Bus) -> None:
    sent = bus_events(3)

    published = publish(bus.name, sent)

    assert sorted(published.taken) == sorted(event.id for event in sent)
    assert (published.refused, published.untried, published.calls) == ({}, [], 1)
    arrived = bus.arrived(3)
    assert {(e["source"], e["detail-type"]) for e in arrived} == {(SOURCE, DETAIL_TYPE)}
    assert sorted(e["detail"]["event_id"] for e in arrived) == sorted(str(e.id) for e in sent)


def test_25_events_are_three_calls_of_at_most_ten(bus: Bus, proxy: EventBridgeProxy) -> None:
    sent = bus_events(25)

    published = publish(bus.name, sent)

    assert published.calls == 3
    assert [len(call) for call in proxy.calls] == [10, 10, 5]
    assert len(published.taken) == 25
    assert len(bus.arrived(25)) == 25


def test_calls_stay_under_256_kb_and_a_larger_event_is_refused_without_one(
    bus: Bus, proxy: EventBridgeProxy
) -> None:
    # About 100 KB each: two to a call.
    packages = tuple(stock_changed().packages[0] for _ in range(1300))
    large = bus_events(5, packages=packages)
    huge_event = stock_changed(packages=packages * 3)
    huge = BusEvent(huge_event.event_id, detail_of(huge_event))
    assert 90_000 < large[0].size < MAX_CALL_BYTES // 2 < MAX_CALL_BYTES < huge.size

    published = publish(bus.name, [*large, huge])

    assert [len(call) for call in proxy.calls] == [2, 2, 1]
    for call in proxy.calls:
        assert sum(len((e["Source"] + e["DetailType"] + e["Detail"]).encode()) for e in call) < (
            256 * 1024
        )
    assert sorted(published.taken) == sorted(event.id for event in large)
    assert published.refused[huge.id].retryable is False
    assert "too large" in published.refused[huge.id].reason


def test_a_malformed_entry_is_refused_alone_and_not_retryable(bus: Bus) -> None:
    good = bus_events(2)
    malformed = BusEvent(uuid.uuid4(), "{not json")

    published = publish(bus.name, [good[0], malformed, good[1]])

    assert published.taken == [good[0].id, good[1].id]
    refusal = published.refused[malformed.id]
    assert refusal.retryable is False
    assert refusal.reason.startswith("EventBridge MalformedDetail")


def test_throttled_entries_are_refused_as_retryable_and_the_others_taken(
    bus: Bus, proxy: EventBridgeProxy
) -> None:
    sent = bus_events(4)
    proxy.fail_entries(str(sent[1].id))
    proxy.fail_entries(str(sent[3].id), code="InternalFailure", message="Internal error")

    published = publish(bus.name, sent)

    assert published.taken == [sent[0].id, sent[2].id]
    assert published.refused[sent[1].id] == event_bus.Refusal(
        "EventBridge ThrottlingException: Rate exceeded", retryable=True
    )
    assert published.refused[sent[3].id].retryable is True
    assert sorted(e["detail"]["event_id"] for e in bus.arrived(2)) == sorted(
        [str(sent[0].id), str(sent[2].id)]
    )


def test_a_down_endpoint_refuses_the_first_call_tries_no_other_and_never_raises(
    bus: Bus, service_env: pytest.MonkeyPatch
) -> None:
    service_env.setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", closed_port_url())
    event_bus.events_client.cache_clear()
    sent = bus_events(25)
    started = time.monotonic()

    published = publish(bus.name, sent)

    assert time.monotonic() - started < 5  # the fail-fast client, two attempts
    assert published.taken == []
    assert published.calls == 1
    assert set(published.refused) == {event.id for event in sent[:10]}
    assert published.untried == [event.id for event in sent[10:]]
    refusal = published.refused[sent[0].id]
    assert refusal.retryable is True
    assert refusal.reason.startswith("EventBridge unreachable")


def test_a_bus_that_does_not_exist_is_a_refusal_that_needs_fixing(bus: Bus) -> None:
    sent = bus_events(2)

    published = publish(f"{bus.name}-missing", sent)

    assert published.taken == []
    assert {refusal.retryable for refusal in published.refused.values()} == {False}
    assert "ResourceNotFoundException" in published.refused[sent[0].id].reason


def test_nothing_is_sent_past_the_deadline(bus: Bus, proxy: EventBridgeProxy) -> None:
    sent = bus_events(3)

    published = publish(bus.name, sent, deadline=MonotonicDeadline(0))

    assert (published.taken, published.calls, proxy.calls) == ([], 0, [])
    assert published.untried == [event.id for event in sent]


def test_the_detail_reaches_eventbridge_with_its_exact_decimals(
    bus: Bus, proxy: EventBridgeProxy
) -> None:
    event = stock_changed("0.000000000000002", "3.50", "-1.25")

    publish(bus.name, [BusEvent(event.event_id, detail_of(event))])

    (detail,) = proxy.sent_details()
    assert detail == detail_of(event)
    assert '"stock_after":0.000000000000002,' in detail
    assert '"stock_after":3.50,' in detail
    assert '"stock_after":-1.25,' in detail


def test_two_events_with_one_id_are_a_programming_error() -> None:
    (event,) = bus_events(1)

    with pytest.raises(ValueError, match="distinct ids"):
        publish("any", [event, event])
