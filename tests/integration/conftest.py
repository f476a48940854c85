"""Fixtures of the delivery tests: a webhook receiver on 127.0.0.1 and delivery's AWS side in
moto (tests/support/delivery.py); the stock event bus in moto and an EventBridge stand-in in
front of it (tests/support/stock_events.py, tests/support/eventbridge_proxy.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from devtools.webhook_receiver import WebhookReceiver
from tests.support.delivery import DeliveryAws, set_up_delivery
from tests.support.eventbridge_proxy import EventBridgeProxy
from tests.support.stock_events import StockBus, point_events_at, set_up_stock_bus


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def aws(
    db: psycopg.Connection[Any],
    moto_endpoint: str,
    cooldown_table: str,
    service_env: pytest.MonkeyPatch,
) -> DeliveryAws:
    """A fresh queue and topic, the sender verified, the service pointed at them."""
    return set_up_delivery(moto_endpoint, service_env)


@pytest.fixture
def stock_bus(moto_endpoint: str, service_env: pytest.MonkeyPatch) -> Iterator[StockBus]:
    """A fresh stock event bus whose stock.changed events reach a queue the test reads; the
    service publishes to it (STOCK_EVENT_BUS_NAME, the production client pointed at moto)."""
    from inventory.data import event_bus

    created = set_up_stock_bus(moto_endpoint, service_env)
    yield created
    event_bus.events_client.cache_clear()
    created.delete()


@pytest.fixture
def eventbridge(
    stock_bus: StockBus, moto_endpoint: str, service_env: pytest.MonkeyPatch
) -> Iterator[EventBridgeProxy]:
    """The production client pointed at an EventBridge stand-in in front of moto, which keeps
    every call and fails the entries it is told to."""
    from inventory.data import event_bus

    running = EventBridgeProxy(moto_endpoint)
    point_events_at(running.url, service_env)
    yield running
    running.close()
    event_bus.events_client.cache_clear()
