"""`publish` (data/event_bus.py) through moto's EventBridge over HTTP, whose rule on the bus
sends every stock.changed event to an SQS queue the test reads: what arrives, how many calls
it took, and what each refused entry becomes. Entry failures moto does not produce for a
well-formed entry (throttling) come from tests/support/eventbridge_proxy.py in front of it."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from inventory.data import event_bus
from inventory.data.event_bus import MAX_CALL_BYTES, BusEvent, publish
from inventory.deadline import MonotonicDeadline
from inventory.rules.stock_events import DETAIL_TYPE, SOURCE, detail_of
from tests.support.eventbridge_proxy import EventBridgeProxy
from tests.support.stock_events import StockBus, closed_port_url, point_events_at, stock_changed


def bus_events(count: int, **changes: Any) -> list[BusEvent]:
    found = []
    for _ in range(count):
        event = stock_changed(**changes)
        found.append(BusEvent(event.event_id, detail_of(event)))
    return found


def test_every_event_is_taken_and_arrives_with_its_source_type_and_detail(
    stock_bus: StockBus,
) -> None:
    sent = bus_events(3)

    published = publish(stock_bus.name, sent)

    assert sorted(published.taken) == sorted(event.id for event in sent)
    assert (published.refused, published.untried, published.calls) == ({}, [], 1)
    arrived = stock_bus.arrived(3)
    assert {(e["source"], e["detail-type"]) for e in arrived} == {(SOURCE, DETAIL_TYPE)}
    assert sorted(e["detail"]["event_id"] for e in arrived) == sorted(str(e.id) for e in sent)


def test_25_events_are_three_calls_of_at_most_ten(
    stock_bus: StockBus, eventbridge: EventBridgeProxy
) -> None:
    sent = bus_events(25)

    published = publish(stock_bus.name, sent)

    assert published.calls == 3
    assert [len(call) for call in eventbridge.calls] == [10, 10, 5]
    assert len(published.taken) == 25
    assert len(stock_bus.arrived(25)) == 25


def test_calls_stay_under_256_kb_and_a_larger_event_is_refused_without_one(
    stock_bus: StockBus, eventbridge: EventBridgeProxy
) -> None:
    # About 100 KB each: two to a call.
    packages = tuple(stock_changed().packages[0] for _ in range(1300))
    large = bus_events(5, packages=packages)
    huge_event = stock_changed(packages=packages * 3)
    huge = BusEvent(huge_event.event_id, detail_of(huge_event))
    assert 90_000 < large[0].size < MAX_CALL_BYTES // 2 < MAX_CALL_BYTES < huge.size

    published = publish(stock_bus.name, [*large, huge])

    assert [len(call) for call in eventbridge.calls] == [2, 2, 1]
    for call in eventbridge.calls:
        assert sum(len((e["Source"] + e["DetailType"] + e["Detail"]).encode()) for e in call) < (
            256 * 1024
        )
    assert sorted(published.taken) == sorted(event.id for event in large)
    assert published.refused[huge.id].retryable is False
    assert "too large" in published.refused[huge.id].reason


def test_a_malformed_entry_is_refused_alone_and_not_retryable(stock_bus: StockBus) -> None:
    good = bus_events(2)
    malformed = BusEvent(uuid.uuid4(), "{not json")

    published = publish(stock_bus.name, [good[0], malformed, good[1]])

    assert published.taken == [good[0].id, good[1].id]
    refusal = published.refused[malformed.id]
    assert refusal.retryable is False
    assert refusal.reason.startswith("EventBridge MalformedDetail")


def test_throttled_entries_are_refused_as_retryable_and_the_others_taken(
    stock_bus: StockBus, eventbridge: EventBridgeProxy
) -> None:
    sent = bus_events(4)
    eventbridge.fail_entries(str(sent[1].id))
    eventbridge.fail_entries(str(sent[3].id), code="InternalFailure", message="Internal error")

    published = publish(stock_bus.name, sent)

    assert published.taken == [sent[0].id, sent[2].id]
    assert published.refused[sent[1].id] == event_bus.Refusal(
        "EventBridge ThrottlingException: Rate exceeded", retryable=True
    )
    assert published.refused[sent[3].id].retryable is True
    assert sorted(e["detail"]["event_id"] for e in stock_bus.arrived(2)) == sorted(
        [str(sent[0].id), str(sent[2].id)]
    )


def test_a_down_endpoint_refuses_the_first_call_tries_no_other_and_never_raises(
    stock_bus: StockBus, service_env: pytest.MonkeyPatch
) -> None:
    point_events_at(closed_port_url(), service_env)
    sent = bus_events(25)
    started = time.monotonic()

    published = publish(stock_bus.name, sent)

    assert time.monotonic() - started < 5  # the fail-fast client, two attempts
    assert published.taken == []
    assert published.calls == 1
    assert set(published.refused) == {event.id for event in sent[:10]}
    assert published.untried == [event.id for event in sent[10:]]
    refusal = published.refused[sent[0].id]
    assert refusal.retryable is True
    assert refusal.reason.startswith("EventBridge unreachable")


def test_a_bus_that_does_not_exist_is_a_refusal_that_needs_fixing(stock_bus: StockBus) -> None:
    sent = bus_events(2)

    published = publish(f"{stock_bus.name}-missing", sent)

    assert published.taken == []
    assert {refusal.retryable for refusal in published.refused.values()} == {False}
    assert "ResourceNotFoundException" in published.refused[sent[0].id].reason


def test_nothing_is_sent_past_the_deadline(
    stock_bus: StockBus, eventbridge: EventBridgeProxy
) -> None:
    sent = bus_events(3)

    published = publish(stock_bus.name, sent, deadline=MonotonicDeadline(0))

    assert (published.taken, published.calls, eventbridge.calls) == ([], 0, [])
    assert published.untried == [event.id for event in sent]


def test_the_detail_reaches_eventbridge_with_its_exact_decimals(
    stock_bus: StockBus, eventbridge: EventBridgeProxy
) -> None:
    event = stock_changed("0.000000000000002", "3.50", "-1.25")

    publish(stock_bus.name, [BusEvent(event.event_id, detail_of(event))])

    (detail,) = eventbridge.sent_details()
    assert detail == detail_of(event)
    assert '"stock_after":0.000000000000002,' in detail
    assert '"stock_after":3.50,' in detail
    assert '"stock_after":-1.25,' in detail


def test_two_events_with_one_id_are_a_programming_error() -> None:
    (event,) = bus_events(1)

    with pytest.raises(ValueError, match="distinct ids"):
        publish("any", [event, event])
