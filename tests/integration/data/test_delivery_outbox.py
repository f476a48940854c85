"""The outbox (migration 0009): the deliveries notifications owe, written by the statement
that stores the notifications, against a real PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from inventory.data.notification_rows import insert_notifications
from inventory.rules.alert_types import NotificationDraft, NotificationType, Priority, ReferenceType
from tests.support.statements import counting_statements
from tests.support.subscriptions import add_subscription, deliveries

KEY = "outbox-test-subscription-secret-key-0123456789abcdef"


@pytest.fixture
def outbox(db: psycopg.Connection[Any], service_env: pytest.MonkeyPatch) -> psycopg.Connection[Any]:
    service_env.setenv("SUBSCRIPTION_SECRET_KEY", KEY)
    # The topic's rows are tested on their own; here only the subscribers'.
    db.execute("SET inventory.publish_to_topic = off")
    return db


def draft(
    n: int,
    type: NotificationType = NotificationType.PACKAGE_UNAVAILABLE,
    priority: Priority = Priority.URGENT,
    reference_id: uuid.UUID | None = None,
) -> NotificationDraft:
    return NotificationDraft(
        type=type,
        priority=priority,
        reference_type=ReferenceType.PACKAGE,
        reference_id=reference_id or uuid.uuid4(),
        title=f"Package {n} cannot be sold",
        message=f"Package {n} cannot be sold.",
    )


def test_the_statement_that_stores_notifications_writes_their_deliveries(
    outbox: psycopg.Connection[Any],
) -> None:
    webhook = add_subscription(outbox)
    email = add_subscription(outbox, "email", "manager@example.com")

    with counting_statements(outbox) as counter:
        ids = insert_notifications(outbox, [draft(1), draft(2)])

    assert counter.count == 1
    rows = deliveries(outbox)
    assert sorted((r["notification_id"], r["subscription_id"]) for r in rows) == sorted(
        (n, s) for n in ids for s in (webhook, email)
    )
    assert {(r["kind"], r["status"], r["attempts"], r["digest_id"]) for r in rows} == {
        ("notification", "pending", 0, None)
    }
    assert {r["channel"] for r in rows if r["subscription_id"] == email} == {"email"}


def test_a_rolled_back_notification_owes_nothing(outbox: psycopg.Connection[Any]) -> None:
    add_subscription(outbox)

    def write_then_fail() -> None:
        with outbox.transaction():
            insert_notifications(outbox, [draft(1)])
            raise RuntimeError("the writer fails before its commit")

    with pytest.raises(RuntimeError):
        write_then_fail()

    assert outbox.execute("SELECT count(*) FROM notifications").fetchone() == (0,)
    assert deliveries(outbox) == []


def test_filters_choose_who_is_owed(outbox: psycopg.Connection[Any]) -> None:
    watched = uuid.uuid4()
    by_type = add_subscription(outbox, types=["package_low_stock"])
    by_priority = add_subscription(outbox, min_priority="high")
    by_reference = add_subscription(outbox, reference_ids=[watched])
    add_subscription(outbox, disabled_at="2026-01-01T00:00:00Z", disabled_reason="test")

    low, normal, about = insert_notifications(
        outbox,
        [
            draft(1, NotificationType.PACKAGE_LOW_STOCK, Priority.HIGH),
            draft(2, NotificationType.PACKAGE_UNAVAILABLE, Priority.NORMAL),
            draft(3, NotificationType.PACKAGE_UNAVAILABLE, Priority.URGENT, watched),
        ],
    )

    owed = {(r["notification_id"], r["subscription_id"]) for r in deliveries(outbox)}
    assert owed == {
        (low, by_type),
        (low, by_priority),
        (about, by_priority),
        (about, by_reference),
    }
    assert normal not in {n for n, _ in owed}


def test_more_than_the_threshold_for_one_subscriber_is_one_digest(
    outbox: psycopg.Connection[Any],
) -> None:
    stormed = add_subscription(outbox)
    calm = add_subscription(outbox, types=["package_low_stock"])
    outbox.execute("SET inventory.delivery_storm_threshold = 20")

    ids = insert_notifications(outbox, [draft(n) for n in range(21)])
    insert_notifications(outbox, [draft(99, NotificationType.PACKAGE_LOW_STOCK)])

    rows = deliveries(outbox)
    digests = [r for r in rows if r["kind"] == "digest"]
    assert [(d["subscription_id"], d["sealed_at"] is not None) for d in digests] == [
        (stormed, True)
    ]
    items = [r for r in rows if r["digest_id"] == digests[0]["id"]]
    assert sorted(r["notification_id"] for r in items) == sorted(ids)
    # The other subscriber's single notification goes on its own.
    [alone] = [r for r in rows if r["subscription_id"] == calm]
    assert alone["digest_id"] is None


def test_twenty_is_not_a_storm(outbox: psycopg.Connection[Any]) -> None:
    add_subscription(outbox)
    outbox.execute("SET inventory.delivery_storm_threshold = 20")
    insert_notifications(outbox, [draft(n) for n in range(20)])

    rows = deliveries(outbox)
    assert len(rows) == 20
    assert {r["kind"] for r in rows} == {"notification"}


def test_a_digest_subscription_collects_across_statements_in_one_open_digest(
    outbox: psycopg.Connection[Any],
) -> None:
    digesting = add_subscription(outbox, mode="digest", digest_minutes=60)

    first = insert_notifications(outbox, [draft(1)])
    second = insert_notifications(outbox, [draft(2), draft(3)])

    rows = deliveries(outbox)
    [digest] = [r for r in rows if r["kind"] == "digest"]
    assert digest["subscription_id"] == digesting
    assert digest["sealed_at"] is None
    assert (digest["due_at"] - digest["created_at"]).total_seconds() == pytest.approx(3600, abs=1)
    items = sorted(r["notification_id"] for r in rows if r["digest_id"] == digest["id"])
    assert items == sorted([*first, *second])

    # Once sealed (its sending began), new notifications open the next digest.
    outbox.execute("UPDATE notification_deliveries SET sealed_at = now() WHERE kind = 'digest'")
    insert_notifications(outbox, [draft(4)])
    assert len([r for r in deliveries(outbox) if r["kind"] == "digest"]) == 2


def test_every_notification_goes_to_the_topic_unless_the_writer_says_otherwise(
    db: psycopg.Connection[Any],
) -> None:
    # A writer that says nothing (another tool's SQL) publishes to the topic.
    ids = insert_notifications(db, [draft(1), draft(2)])
    db.execute("SET inventory.publish_to_topic = off")
    insert_notifications(db, [draft(3)])

    rows = deliveries(db)
    assert sorted(r["notification_id"] for r in rows) == sorted(ids)
    assert {(r["channel"], r["subscription_id"]) for r in rows} == {("topic", None)}


def test_a_resolution_goes_to_those_told_of_the_alert_who_want_resolutions(
    outbox: psycopg.Connection[Any],
) -> None:
    told = add_subscription(outbox, min_priority="urgent")
    not_interested = add_subscription(outbox, send_resolved=False)
    add_subscription(outbox, types=["package_low_stock"])  # never told of it
    [alert] = insert_notifications(outbox, [draft(1)])
    [episode] = outbox.execute("SELECT episode_id FROM notifications WHERE id = %s", (alert,))
    outbox.execute(
        "INSERT INTO notifications (type, priority, title, message, reference_type,"
        " reference_id, episode_id, resolved_at)"
        " SELECT 'alert_resolved', 'low', 'back', 'back', reference_type, reference_id,"
        " episode_id, now() FROM notifications WHERE id = %s",
        (alert,),
    )

    [notice] = outbox.execute("SELECT id FROM notifications WHERE type = 'alert_resolved'")
    owed = {r["subscription_id"] for r in deliveries(outbox) if r["notification_id"] == notice[0]}
    assert owed == {told}
    assert not_interested not in owed
    assert episode[0] is not None
