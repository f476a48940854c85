"""The `stock_events` outbox (migration 0011, data/stock_events.py) against a real PostgreSQL:
an event exists exactly when its writer's transaction commits, with its exact detail, and the
reads and marks publishing needs."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from inventory.data import stock_events
from inventory.rules.stock_events import detail_of
from tests.support.stock_events import backdate, owe, rows, stock_changed

MINUTE = timedelta(minutes=1)


def test_an_event_is_owed_only_when_its_writers_transaction_commits(
    db: psycopg.Connection[Any],
) -> None:
    committed, rolled_back = stock_changed(), stock_changed()

    with db.transaction():
        assert stock_events.insert(db, committed) == committed.event_id
    with db.transaction(force_rollback=True):  # the sale failed after its event was written
        stock_events.insert(db, rolled_back)

    assert list(rows(db)) == [committed.event_id]


def test_the_insert_is_one_statement_in_the_callers_transaction(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    from tests.support.statements import counting_statements

    with db.transaction(), counting_statements(db) as counter:
        stock_events.insert(db, stock_changed())
        # Not visible to another session before the commit.
        with psycopg.connect(database_url) as other:
            assert other.execute("SELECT count(*) FROM stock_events").fetchone() == (0,)

    assert counter.count == 1


def test_the_stored_detail_keeps_every_decimals_digits(db: psycopg.Connection[Any]) -> None:
    event = stock_changed("0.000000000000002", "3.50", "-1.25", "12345678901234567890.123456789")
    owe_id = stock_events.insert(db, event)

    (owed,) = stock_events.pending(db, [owe_id])

    stored = json.loads(owed.detail, parse_float=Decimal)
    assert stored == json.loads(detail_of(event), parse_float=Decimal)
    assert [p["stock_after"] for p in stored["products"]] == [
        Decimal("0.000000000000002"),
        Decimal("3.50"),
        Decimal("-1.25"),
        Decimal("12345678901234567890.123456789"),
    ]
    assert "0.000000000000002" in owed.detail
    assert "3.50" in owed.detail


def test_a_row_whose_detail_names_another_event_is_refused(db: psycopg.Connection[Any]) -> None:
    detail = detail_of(stock_changed())

    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute(
            "INSERT INTO stock_events (id, detail) VALUES (%s, %s::jsonb)", (uuid.uuid4(), detail)
        )


def test_pending_leaves_out_published_and_unknown_events(db: psycopg.Connection[Any]) -> None:
    published, owed = owe(db, 2)
    stock_events.mark_published(db, [published])

    found = stock_events.pending(db, [published, owed, uuid.uuid4()])

    assert [event.id for event in found] == [owed]


def test_the_sweep_reads_only_events_owed_longer_than_the_threshold(
    db: psycopg.Connection[Any],
) -> None:
    _fresh, old, published = owe(db, 3)
    backdate(db, [old, published])
    stock_events.mark_published(db, [published])

    found = stock_events.unpublished(db, older_than=MINUTE, limit=10)

    assert [event.id for event in found] == [old]


def test_the_sweep_takes_fewest_attempts_first_then_the_oldest_up_to_its_limit(
    db: psycopg.Connection[Any],
) -> None:
    refused, oldest, newer = owe(db, 3)
    backdate(db, [refused], minutes=30)
    backdate(db, [oldest], minutes=20)
    backdate(db, [newer], minutes=10)
    stock_events.record_failure(db, [refused], "EventBridge MalformedDetail")

    first_two = stock_events.unpublished(db, older_than=MINUTE, limit=2)
    everything = stock_events.unpublished(db, older_than=MINUTE, limit=10)

    assert [event.id for event in first_two] == [oldest, newer]
    assert [event.id for event in everything] == [oldest, newer, refused]


def test_marks_count_attempts_and_never_touch_a_published_event(
    db: psycopg.Connection[Any],
) -> None:
    event_id, other = owe(db, 2)

    assert stock_events.record_failure(db, [event_id], "EventBridge ThrottlingException") == 1
    assert stock_events.mark_published(db, [event_id]) == 1
    # Again, as a second publisher (or a repeated mark) would: nothing changes.
    assert stock_events.mark_published(db, [event_id]) == 0
    assert stock_events.record_failure(db, [event_id], "too late") == 0
    assert stock_events.mark_published(db, []) == stock_events.record_failure(db, [], "x") == 0

    stored = rows(db)
    assert stored[event_id]["published_at"] is not None
    assert stored[event_id]["attempts"] == 2
    assert stored[event_id]["last_error"] == "EventBridge ThrottlingException"
    assert (stored[other]["published_at"], stored[other]["attempts"]) == (None, 0)


def test_a_long_error_is_kept_shortened(db: psycopg.Connection[Any]) -> None:
    (event_id,) = owe(db)

    stock_events.record_failure(db, [event_id], "x" * 5000)

    assert len(rows(db)[event_id]["last_error"]) == 1000
