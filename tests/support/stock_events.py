"""`stock.changed` events for the outbox and bus tests: an event as a sale would owe it, rows
owed in the test's database, their clock moved back past the sweep's minute, a bus in moto
whose events reach a queue the test reads, and the metric publishing counts."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.rows import dict_row

from inventory.data import stock_events
from inventory.rules.stock_events import (
    DETAIL_TYPE,
    SOURCE,
    PackageStatus,
    ProductStock,
    StockChanged,
)

SOLD_AT = datetime(2026, 3, 8, 14, 5, tzinfo=UTC)


def stock_changed(*stock: Decimal | str, **changes: Any) -> StockChanged:
    """A sale's event: one product per `stock` figure (3.5 by default), one low package."""
    figures = stock or ("3.5",)
    values: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "cause": "sale",
        "sale_id": uuid.uuid4(),
        "movement_id": None,
        "occurred_at": SOLD_AT,
        "products": tuple(
            ProductStock(uuid.uuid4(), Decimal(figure), version)
            for version, figure in enumerate(figures, start=1)
        ),
        "packages": (PackageStatus(uuid.uuid4(), 4, "low_stock"),),
    }
    return StockChanged(**(values | changes))


def owe(connection: psycopg.Connection[Any], count: int = 1, **changes: Any) -> list[UUID]:
    """`count` events committed to the outbox (each in a transaction of its own), their ids."""
    ids = []
    for _ in range(count):
        with connection.transaction():
            ids.append(stock_events.insert(connection, stock_changed(**changes)))
    return ids


def backdate(connection: psycopg.Connection[Any], ids: Sequence[UUID], minutes: float = 2) -> None:
    """Make the rows owed `minutes` longer, as if written that long ago."""
    connection.execute(
        "UPDATE stock_events SET created_at = created_at - %s WHERE id = ANY(%s)",
        (timedelta(minutes=minutes), list(ids)),
    )


def rows(connection: psycopg.Connection[Any]) -> dict[UUID, dict[str, Any]]:
    """Every outbox row by id (detail as the JSON text stored)."""
    with connection.cursor(row_factory=dict_row) as cursor:
        found = cursor.execute(
            "SELECT id, detail::text AS detail, created_at, published_at, attempts, last_error"
            " FROM stock_events"
        ).fetchall()
    return {row["id"]: row for row in found}


@dataclass(frozen=True)
class StockBus:
    """A bus in moto whose stock.changed events a rule puts on a queue the test reads."""

    name: str
    queue_url: str
    sqs: Any
    events: Any

    def arrived(self, expected: int = 0) -> list[dict[str, Any]]:
        """The EventBridge events on the queue now (waiting a little for `expected`),
        removed from it."""
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
            if len(found) >= expected and not answer.get("Messages"):
                break
            time.sleep(0.05)
        return found

    def arrived_ids(self, expected: int = 0) -> list[str]:
        return sorted(event["detail"]["event_id"] for event in self.arrived(expected))

    def delete(self) -> None:
        self.sqs.delete_queue(QueueUrl=self.queue_url)


def set_up_stock_bus(endpoint: str, env: pytest.MonkeyPatch) -> StockBus:
    """A fresh bus (and its rule and queue) in moto; the service pointed at it."""
    import boto3

    from inventory.config import get_settings
    from inventory.data import event_bus

    events = boto3.client("events", endpoint_url=endpoint)
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    name = f"stock-events-{uuid.uuid4().hex[:12]}"
    events.create_event_bus(Name=name)
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    pattern = {"source": [SOURCE], "detail-type": [DETAIL_TYPE]}
    events.put_rule(Name="all", EventBusName=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="all", EventBusName=name, Targets=[{"Id": "q", "Arn": queue_arn}])
    point_events_at(endpoint, env)
    env.setenv("STOCK_EVENT_BUS_NAME", name)
    get_settings.cache_clear()
    event_bus.events_client.cache_clear()
    return StockBus(name, queue_url, sqs, events)


def point_events_at(endpoint: str, env: pytest.MonkeyPatch) -> None:
    """The production client's endpoint from now on (boto3 reads AWS_ENDPOINT_URL_EVENTBRIDGE,
    named after the service id)."""
    from inventory.data import event_bus

    env.setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", endpoint)
    event_bus.events_client.cache_clear()


def closed_port_url() -> str:
    """An endpoint nothing listens on: every connection is refused."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def metric_values(name: str) -> list[float]:
    """What the process's Powertools metrics hold for `name` since the last clear."""
    from inventory.observability import metrics

    metric = metrics.metric_set.get(name)
    return [float(value) for value in metric["Value"]] if metric else []
