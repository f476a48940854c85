"""Publishing stock.changed events (services/stock_events.py) from the outbox to moto's
EventBridge over HTTP, against a real PostgreSQL: after the writer's commit, and the monitor's
sweep of what is still owed. Nothing is lost when EventBridge is down or refuses entries, and
what the sweep publishes it publishes once."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from inventory.data import stock_events as outbox
from inventory.deadline import MonotonicDeadline
from inventory.observability import metrics
from inventory.rules.stock_events import detail_of
from inventory.services import monitor
from inventory.services import stock_events as publishing
from inventory.services.stock_events import FAILED_METRIC, publish_after_commit, sweep
from tests.support.eventbridge_proxy import EventBridgeProxy
from tests.support.statements import counting_statements
from tests.support.stock_events import (
    StockBus,
    backdate,
    closed_port_url,
    metric_values,
    owe,
    point_events_at,
    rows,
    stock_changed,
)


@pytest.fixture(autouse=True)
def fresh_metrics() -> Iterator[None]:
    """Only this test's metrics (runs outside a handler elsewhere in this process buffer
    theirs)."""
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def test_an_event_committed_is_published_once_and_marked(
    db: psycopg.Connection[Any], stock_bus: StockBus
) -> None:
    (event_id,) = owe(db)

    outcome = publish_after_commit([event_id])

    assert (outcome.published, outcome.not_published, outcome.errors) == (1, 0, [])
    assert stock_bus.arrived_ids(1) == [str(event_id)]
    row = rows(db)[event_id]
    assert row["published_at"] is not None
    assert (row["attempts"], row["last_error"]) == (1, None)
    # Published already: a second call (a retried request, a late sweep) sends nothing.
    assert publish_after_commit([event_id]).published == 0
    assert stock_bus.arrived_ids() == []
    assert metric_values(FAILED_METRIC) == []


def test_publishing_inside_the_writers_transaction_is_refused_as_a_programming_error(
    db: psycopg.Connection[Any], stock_bus: StockBus
) -> None:
    """Inside the transaction the read would see an event its rollback may take back."""
    from inventory.data.db import run_on_connection

    def sale(connection: psycopg.Connection[Any]) -> None:
        with connection.transaction():
            event_id = outbox.insert(connection, stock_changed())
            publish_after_commit([event_id])

    with pytest.raises(RuntimeError, match="after the commit"):
        run_on_connection(sale)

    assert rows(db) == {}
    assert stock_bus.arrived_ids() == []


def test_an_event_whose_transaction_rolled_back_is_never_published(
    db: psycopg.Connection[Any], stock_bus: StockBus
) -> None:
    event = stock_changed()
    with db.transaction(force_rollback=True):
        outbox.insert(db, event)

    outcome = publish_after_commit([event.event_id])
    backdate(db, [event.event_id])
    swept = sweep()

    assert (outcome.published, swept.published) == (0, 0)
    assert rows(db) == {}
    assert stock_bus.arrived_ids() == []


def test_the_published_event_is_the_envelope_of_the_stored_detail(
    db: psycopg.Connection[Any], stock_bus: StockBus
) -> None:
    event = stock_changed("3.5", "0.25")
    with db.transaction():
        outbox.insert(db, event)

    publish_after_commit([event.event_id])

    (arrived,) = stock_bus.arrived(1)
    assert (arrived["source"], arrived["detail-type"]) == ("inventory-automation", "stock.changed")
    detail = arrived["detail"]
    assert detail["event_id"] == str(event.event_id)
    assert (detail["cause"], detail["sale_id"], detail["movement_id"]) == (
        "sale",
        str(event.sale_id),
        None,
    )
    assert [p["stock_after"] for p in detail["products"]] == [3.5, 0.25]
    assert [p["version"] for p in detail["products"]] == [1, 2]


def test_the_published_detail_keeps_exact_decimals_from_the_outbox_to_eventbridge(
    db: psycopg.Connection[Any], eventbridge: EventBridgeProxy
) -> None:
    event = stock_changed("0.000000000000002", "3.50", "12345678901234567890.123456789")
    with db.transaction():
        outbox.insert(db, event)

    publish_after_commit([event.event_id])

    (detail,) = eventbridge.sent_details()  # the text PutEvents carried, unparsed
    sent = json.loads(detail, parse_float=Decimal)
    assert sent == json.loads(detail_of(event), parse_float=Decimal)
    for digits in ("0.000000000000002", "3.50", "12345678901234567890.123456789"):
        assert re.search(rf'"stock_after": {re.escape(digits)}[,}}]', detail), digits


def test_a_down_endpoint_leaves_the_event_owed_and_counted_and_a_later_sweep_publishes_it_once(
    db: psycopg.Connection[Any],
    stock_bus: StockBus,
    moto_endpoint: str,
    service_env: pytest.MonkeyPatch,
) -> None:
    point_events_at(closed_port_url(), service_env)
    (event_id,) = owe(db)

    outcome = publish_after_commit([event_id])

    assert (outcome.published, outcome.not_published) == (0, 1)
    assert outcome.errors[0].startswith("stock events not published (1): EventBridge unreachable")
    row = rows(db)[event_id]
    assert (row["published_at"], row["attempts"]) == (None, 1)
    assert row["last_error"].startswith("EventBridge unreachable")
    assert metric_values(FAILED_METRIC) == [1.0]

    # EventBridge is back. A sweep within the minute leaves the event to its writer...
    point_events_at(moto_endpoint, service_env)
    assert sweep().published == 0
    # ... and after it publishes it, once, however many sweeps follow.
    backdate(db, [event_id])
    assert sweep().published == 1
    assert sweep().published == 0
    assert stock_bus.arrived_ids(1) == [str(event_id)]
    assert rows(db)[event_id]["published_at"] is not None


def test_refused_entries_stay_owed_with_their_reason_and_the_rest_are_published(
    db: psycopg.Connection[Any], stock_bus: StockBus, eventbridge: EventBridgeProxy
) -> None:
    ids = owe(db, 3)
    backdate(db, ids)
    eventbridge.fail_entries(str(ids[1]))

    swept = sweep()

    assert (swept.published, swept.not_published) == (2, 1)
    assert swept.errors == [
        "stock events not published (1): EventBridge ThrottlingException: Rate exceeded"
    ]
    stored = rows(db)
    assert [stored[i]["published_at"] is not None for i in ids] == [True, False, True]
    assert stored[ids[1]]["last_error"] == "EventBridge ThrottlingException: Rate exceeded"
    assert metric_values(FAILED_METRIC) == [1.0]

    eventbridge.heal()
    assert sweep().published == 1
    assert stock_bus.arrived_ids(3) == sorted(str(i) for i in ids)


def test_a_sweep_publishes_at_most_its_limit_and_nothing_past_its_deadline(
    db: psycopg.Connection[Any], stock_bus: StockBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inventory.data.db import get_connection

    monkeypatch.setattr(publishing, "MAX_PER_SWEEP", 3)
    ids = owe(db, 5)
    backdate(db, ids)

    with counting_statements(get_connection()) as counter:
        expired = sweep(deadline=MonotonicDeadline(0))
    first, second, third = sweep(), sweep(), sweep()

    assert (expired.published, counter.count) == (0, 0)
    assert (first.published, second.published, third.published) == (3, 2, 0)
    assert len(stock_bus.arrived_ids(5)) == 5


def test_25_owed_events_are_published_in_three_calls(
    db: psycopg.Connection[Any], stock_bus: StockBus, eventbridge: EventBridgeProxy
) -> None:
    ids = owe(db, 25)
    backdate(db, ids)

    assert sweep().published == 25
    assert [len(call) for call in eventbridge.calls] == [10, 10, 5]


def test_a_mark_that_fails_after_eventbridge_took_the_event_only_publishes_it_again(
    db: psycopg.Connection[Any],
    database_url: str,
    stock_bus: StockBus,
    eventbridge: EventBridgeProxy,
    service_env: pytest.MonkeyPatch,
) -> None:
    """The database stops answering between the publish and its mark (here: a lock held until
    the statement times out): the event stays owed and the sweep publishes it again, under the
    same event_id, which consumers deduplicate on."""
    service_env.setenv("DB_STATEMENT_TIMEOUT_MS", "300")
    service_env.setenv("DB_DEADLINE_SECONDS", "2")
    from inventory.config import get_settings
    from inventory.data.db import reset_connection

    get_settings.cache_clear()
    reset_connection()
    (event_id,) = owe(db)
    locker = psycopg.connect(database_url)

    def lock_the_outbox() -> None:
        locker.execute("LOCK TABLE stock_events IN ACCESS EXCLUSIVE MODE")
        eventbridge.after_put_events = None

    eventbridge.after_put_events = lock_the_outbox
    try:
        outcome = publish_after_commit([event_id])
    finally:
        locker.rollback()
        locker.close()

    assert outcome.published == 1
    assert outcome.errors[0].startswith("published stock events not marked")
    assert rows(db)[event_id]["published_at"] is None
    backdate(db, [event_id])
    assert sweep().published == 1
    assert [e["detail"]["event_id"] for e in stock_bus.arrived(2)] == [str(event_id)] * 2


def test_without_a_bus_nothing_is_read_or_published_and_the_events_stay_owed(
    db: psycopg.Connection[Any], stock_bus: StockBus, service_env: pytest.MonkeyPatch
) -> None:
    from inventory.config import get_settings
    from inventory.data.db import get_connection

    service_env.delenv("STOCK_EVENT_BUS_NAME")
    get_settings.cache_clear()
    ids = owe(db, 2)
    backdate(db, ids)

    with counting_statements(get_connection()) as counter:
        after_commit, swept = publish_after_commit(ids), sweep()

    assert (after_commit.published, swept.published, counter.count) == (0, 0, 0)
    assert (after_commit.errors, swept.errors) == ([], [])
    assert [row["published_at"] for row in rows(db).values()] == [None, None]
    assert stock_bus.arrived_ids() == []


def test_a_database_that_does_not_answer_is_counted_never_raised(
    db: psycopg.Connection[Any], stock_bus: StockBus, service_env: pytest.MonkeyPatch
) -> None:
    from inventory.config import get_settings
    from inventory.data.db import reset_connection

    service_env.setenv("DATABASE_URL", closed_port_url().replace("http", "postgresql") + "/x")
    service_env.setenv("DB_CONNECT_TIMEOUT_SECONDS", "1")
    get_settings.cache_clear()
    reset_connection()

    outcome = publish_after_commit([uuid.uuid4(), uuid.uuid4()])
    swept = sweep()

    assert (outcome.not_published, swept.not_published) == (2, 1)
    assert outcome.errors[0].startswith("stock events not read: The database is unreachable")
    assert metric_values(FAILED_METRIC) == [2.0, 1.0]


def test_the_monitor_sweeps_and_reports_what_it_could_not_publish(
    db: psycopg.Connection[Any],
    cooldown_table: str,
    stock_bus: StockBus,
    moto_endpoint: str,
    service_env: pytest.MonkeyPatch,
) -> None:
    ids = owe(db, 2)
    backdate(db, ids)
    now = datetime.now(UTC)
    point_events_at(closed_port_url(), service_env)

    down = monitor.run_monitor(now)

    assert down.success is True
    (error,) = down.summary.errors
    assert error.startswith("stock events not published (2): EventBridge unreachable")
    assert metric_values(FAILED_METRIC) == [2.0]

    point_events_at(moto_endpoint, service_env)
    back = monitor.run_monitor(now)

    assert back.summary.errors == []
    assert stock_bus.arrived_ids(2) == sorted(str(i) for i in ids)
