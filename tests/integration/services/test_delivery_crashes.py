"""A writer killed between its commit and its enqueue still has everything delivered, by the
next run's dispatch (the outbox's sweep), and nothing is delivered twice.

The writer is a real monitor process (tests/support/crashing_monitor.py) SIGKILLed right after
its notifications' statement committed (their deliveries with them, nothing on the queue yet),
or after SQS took its messages but before it marked them enqueued. The queue is moto's SQS
over HTTP; the delivery function is the real handler fed SQS's event; the receiver on
127.0.0.1 verifies every signature with the `standardwebhooks` package.
"""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from devtools.webhook_receiver import WebhookReceiver
from inventory.config import get_settings
from inventory.data.cooldowns import get_cooldown_store
from inventory.services.monitor import run_monitor
from tests.integration.services.test_monitor_crashes import start_child
from tests.support.catalog import component, insert_catalog, package
from tests.support.delivery import DeliveryAws, set_up_delivery, subscribe

PACKAGES = 6
SPECS = [package(f"Bucket {i}", [component(f"Beer {i}", 5, 0)]) for i in range(PACKAGES)]
START = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)


@pytest.fixture
def aws(
    db: psycopg.Connection[Any],
    cooldown_table: str,
    moto_endpoint: str,
    service_env: pytest.MonkeyPatch,
) -> DeliveryAws:
    insert_catalog(db, SPECS)
    aws = set_up_delivery(moto_endpoint, service_env)
    service_env.setenv("POWERTOOLS_LOG_LEVEL", "ERROR")
    get_settings.cache_clear()
    get_cooldown_store.cache_clear()
    return aws


def killed_at(point: str) -> None:
    child = start_child(point, START)
    assert child.wait(timeout=60) == -signal.SIGKILL


def deliveries_per_notification(receiver: WebhookReceiver) -> dict[str, int]:
    counts: dict[str, int] = {}
    for delivery in receiver.deliveries("shop"):
        if delivery.status == 200:
            key = delivery.body["data"]["id"]
            counts[key] = counts.get(key, 0) + 1
    return counts


@pytest.mark.parametrize("point", ["after-commit", "after-enqueue"])
def test_a_writer_killed_after_its_commit_still_delivers_everything_once(
    db: psycopg.Connection[Any], aws: DeliveryAws, receiver: WebhookReceiver, point: str
) -> None:
    created = subscribe({"channel": "webhook", "target": receiver.url("shop")})
    receiver.register("shop", created["secret"])

    killed_at(point)

    stored = [str(row[0]) for row in db.execute("SELECT id FROM notifications")]
    assert len(stored) >= PACKAGES  # committed, deliveries with them
    pending = db.execute(
        "SELECT count(*) FROM notification_deliveries WHERE status = 'pending'"
    ).fetchone()
    assert pending is not None
    assert pending[0] > 0
    if point == "after-commit":
        assert aws.queued() == 0  # it died before putting anything on the queue
    else:
        assert aws.queued() > 0  # on the queue, but never marked so

    # The next run (ten minutes later) dispatches what the dead writer left; then the queue.
    after = run_monitor(START + timedelta(minutes=10))
    assert after.summary.deliveries_enqueued >= len(stored)
    aws.drain()

    assert receiver.rejected == 0
    counts = deliveries_per_notification(receiver)
    assert sorted(counts) == sorted(stored), "a notification was never delivered"
    assert set(counts.values()) == {1}, "a notification was delivered twice"
    left = db.execute(
        "SELECT count(*) FROM notification_deliveries WHERE status <> 'sent'"
        " AND subscription_id IS NOT NULL"
    ).fetchone()
    assert left == (0,)
