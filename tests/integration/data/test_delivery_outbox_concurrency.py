"""The outbox trigger and the sender's claim and seal under concurrent writers, against a real
PostgreSQL (two connections, one held open on purpose)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from inventory.data.notification_deliveries import claim, digest_items, seal
from inventory.data.notification_rows import insert_notifications
from inventory.rules.alert_types import NotificationDraft, NotificationType, Priority, ReferenceType
from tests.support.subscriptions import add_subscription, deliveries

KEY = "outbox-test-subscription-secret-key-0123456789abcdef"


@pytest.fixture
def outbox(db: psycopg.Connection[Any], service_env: pytest.MonkeyPatch) -> psycopg.Connection[Any]:
    service_env.setenv("SUBSCRIPTION_SECRET_KEY", KEY)
    db.execute("SET inventory.publish_to_topic = off")
    return db


def draft(n: int) -> NotificationDraft:
    return NotificationDraft(
        type=NotificationType.PACKAGE_UNAVAILABLE,
        priority=Priority.URGENT,
        reference_type=ReferenceType.PACKAGE,
        reference_id=uuid.uuid4(),
        title=f"Package {n} cannot be sold",
        message=f"Package {n} cannot be sold.",
    )


def other(database_url: str) -> psycopg.Connection[Any]:
    connection = psycopg.connect(database_url, autocommit=True)
    connection.execute("SET inventory.publish_to_topic = off")
    return connection


# A writer adding to the open digest holds its row until it commits: the sender's claim and
# seal wait for it, so the digest sealed carries the writer's notification.
def test_a_seal_waits_for_the_writer_adding_to_the_open_digest(
    outbox: psycopg.Connection[Any], database_url: str
) -> None:
    add_subscription(outbox, mode="digest", digest_minutes=5)
    insert_notifications(outbox, [draft(1)])
    outbox.execute("UPDATE notification_deliveries SET due_at = 'epoch' WHERE kind = 'digest'")
    [digest] = [r["id"] for r in deliveries(outbox) if r["kind"] == "digest"]

    writer = other(database_url)
    writer.execute("BEGIN")
    insert_notifications(writer, [draft(2)])  # joins the open digest, holds its row
    claimed: list[Any] = []

    def sender() -> None:
        with psycopg.connect(database_url, autocommit=True) as connection:
            now = datetime.now(UTC)
            lease_until, won = claim(connection, [digest], now=now, lease=timedelta(minutes=3))
            claimed.extend(won)
            seal(connection, [digest], now=now, lease_until=lease_until)
            claimed.append(digest_items(connection, [digest], listed=20)[digest].total)

    thread = threading.Thread(target=sender)
    thread.start()
    time.sleep(0.5)
    assert not claimed, "the claim did not wait for the writer"
    writer.execute("COMMIT")
    thread.join(10)
    assert claimed[-1] == 2
    writer.close()


# A subscription deleted while a writer's statement runs waits for it (the trigger locks
# the subscriptions it reads) instead of failing the writer's notifications on a foreign key.
def test_deleting_a_subscription_does_not_fail_a_concurrent_writer_of_notifications(
    outbox: psycopg.Connection[Any], database_url: str
) -> None:
    subscription = add_subscription(outbox)
    deleter = other(database_url)
    deleter.execute("BEGIN")
    deleter.execute("DELETE FROM notification_subscriptions WHERE id = %s", (subscription,))
    failure: list[BaseException] = []

    def write() -> None:
        with other(database_url) as connection:
            try:
                insert_notifications(connection, [draft(1)])
            except psycopg.Error as error:
                failure.append(error)

    thread = threading.Thread(target=write)
    thread.start()
    time.sleep(0.5)  # the writer's trigger saw the subscription and now waits on its row
    deleter.execute("COMMIT")
    thread.join(10)
    deleter.close()

    assert failure == []
    assert outbox.execute("SELECT count(*) FROM notifications").fetchone() == (1,)
