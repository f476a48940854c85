"""Notification rows in PostgreSQL: one statement per batch, ids in input order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from inventory.data.notification_rows import (
    ClaimedDraft,
    Stored,
    clear_cooldowns,
    insert_claimed,
    insert_notifications,
    recent_notifications,
)
from inventory.rules.alert_types import (
    NotificationDraft,
    NotificationType,
    Priority,
    ReferenceType,
)
from tests.support.statements import counting_statements


def draft(n: int, **changes: Any) -> NotificationDraft:
    values: dict[str, Any] = {
        "type": NotificationType.PACKAGE_UNAVAILABLE,
        "priority": Priority.URGENT,
        "reference_type": ReferenceType.PACKAGE,
        "reference_id": uuid.uuid4(),
        "title": f"Package {n} cannot be sold",
        "message": f"Corona has {n} in stock, 5 needed per package.",
        "data": {"max_sellable": 0, "n": n, "bottleneck": {"product_name": "Corona"}},
    }
    values.update(changes)
    return NotificationDraft(**values)


def rows(db: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT id, type, priority, title, message, reference_type, reference_id, data"
        " FROM notifications"
    ).fetchall()


def test_insert_stores_every_draft_in_one_statement(db: psycopg.Connection[Any]) -> None:
    drafts = [draft(n) for n in range(50)]

    with counting_statements(db) as counter:
        ids = insert_notifications(db, drafts)

    assert counter.count == 1
    assert len(ids) == len(set(ids)) == 50
    assert len(rows(db)) == 50


def test_insert_returns_the_ids_in_the_order_of_the_drafts(db: psycopg.Connection[Any]) -> None:
    drafts = [draft(n) for n in range(30)]

    ids = insert_notifications(db, drafts)

    stored = {row[0]: row for row in rows(db)}
    for notification_id, expected in zip(ids, drafts, strict=True):
        _, kind, priority, title, message, reference_type, reference_id, data = stored[
            notification_id
        ]
        assert (kind, priority, reference_type) == (
            expected.type.value,
            expected.priority.value,
            expected.reference_type.value,
        )
        assert (title, message, reference_id) == (
            expected.title,
            expected.message,
            expected.reference_id,
        )
        assert data == expected.data


def test_insert_writes_python_figures_as_json(db: psycopg.Connection[Any]) -> None:
    product = uuid.uuid4()
    figures = {
        "current_stock": Decimal("12"),
        "avg_daily_usage": Decimal("2.5"),
        "product_id": product,
        "predicted_stockout_date": datetime(2025, 10, 26, tzinfo=UTC),
        "type": NotificationType.STOCKOUT_PREDICTED,
    }

    [notification_id] = insert_notifications(
        db,
        [
            draft(
                1,
                type=NotificationType.STOCKOUT_PREDICTED,
                reference_type=ReferenceType.PRODUCT,
                reference_id=product,
                data=figures,
            )
        ],
    )

    [(data,)] = db.execute(
        "SELECT data FROM notifications WHERE id = %s", (notification_id,)
    ).fetchall()
    assert data == {
        "current_stock": 12,
        "avg_daily_usage": 2.5,
        "product_id": str(product),
        "predicted_stockout_date": "2025-10-26T00:00:00+00:00",
        "type": "stockout_predicted",
    }


def test_no_drafts_send_no_statement(db: psycopg.Connection[Any]) -> None:
    with counting_statements(db) as counter:
        ids = insert_notifications(db, [])

    assert ids == []
    assert counter.count == 0


def test_a_batch_with_one_bad_row_stores_nothing(db: psycopg.Connection[Any]) -> None:
    # NaN is not JSON, so the server rejects row 2's jsonb: the statement fails as a whole.
    drafts = [draft(1), draft(2, data={"ratio": float("nan")}), draft(3)]

    with pytest.raises(psycopg.DataError):
        insert_notifications(db, drafts)

    assert rows(db) == []


def test_recent_notifications_are_newest_first_and_limited(db: psycopg.Connection[Any]) -> None:
    first = insert_notifications(db, [draft(1)])
    db.execute("UPDATE notifications SET created_at = now() - interval '1 hour'")
    second = insert_notifications(db, [draft(2), draft(3)])

    recent = recent_notifications(db, limit=2)
    everything = recent_notifications(db, limit=10)

    assert {n.id for n in recent} == set(second)
    assert [n.id for n in everything][-1] == first[0]
    assert everything[-1].title == "Package 1 cannot be sold"
    assert everything[-1].data["bottleneck"] == {"product_name": "Corona"}
    assert everything[-1].read_at is None


AT = datetime(2025, 10, 21, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=24)


def claimed(n: int, **changes: Any) -> ClaimedDraft:
    return ClaimedDraft(draft(n, **changes), uuid.uuid4())


def test_an_insert_run_again_with_the_same_claims_stores_nothing_twice(
    db: psycopg.Connection[Any],
) -> None:
    batch = [claimed(n) for n in range(5)]
    first = insert_claimed(db, batch[:3], now=AT, window=WINDOW)

    with counting_statements(db) as counter:
        # The retry of an attempt whose answer was lost.
        again = insert_claimed(db, batch, now=AT, window=WINDOW)

    assert counter.count == 1
    assert [r.stored for r in again] == [Stored.RETRIED] * 3 + [Stored.NEW] * 2
    assert [r.id for r in again[:3]] == [r.id for r in first]
    assert len(rows(db)) == 5


def test_a_key_whose_row_is_inside_its_window_is_not_stored_again(
    db: psycopg.Connection[Any],
) -> None:
    dead_run = [claimed(n) for n in range(3)]
    [committed] = insert_claimed(db, dead_run[:1], now=AT, window=WINDOW)
    # A later run claims the same keys afresh (the dead run's lease ended, or was deleted).
    later = [ClaimedDraft(c.draft, uuid.uuid4()) for c in dead_run]

    results = insert_claimed(db, later, now=AT + timedelta(minutes=10), window=WINDOW)

    assert [r.stored for r in results] == [Stored.IN_WINDOW, Stored.NEW, Stored.NEW]
    assert (results[0].id, results[0].cooldown_from) == (committed.id, AT)
    assert len(rows(db)) == 3


def test_a_row_out_of_its_window_cleared_or_without_a_cooldown_holds_nothing(
    db: psycopg.Connection[Any],
) -> None:
    old, cleared, other = claimed(1), claimed(2), claimed(3)
    insert_claimed(db, [old, cleared, other], now=AT, window=WINDOW)
    assert clear_cooldowns(db, type=None, reference_id=cleared.draft.reference_id) == 1

    def again(item: ClaimedDraft) -> ClaimedDraft:
        return ClaimedDraft(item.draft, uuid.uuid4())

    after_window = insert_claimed(db, [again(old)], now=AT + WINDOW, window=WINDOW)
    after_clear = insert_claimed(db, [again(cleared)], now=AT + timedelta(hours=1), window=WINDOW)
    no_cooldown = insert_claimed(db, [again(other)], now=AT + timedelta(hours=1), window=None)

    assert [r.stored for r in [*after_window, *after_clear, *no_cooldown]] == [Stored.NEW] * 3
    assert len(rows(db)) == 6
