"""Review B (issue 17): end-to-end findings through the real monitor and delivery handlers."""

from __future__ import annotations

from typing import Any

import psycopg

from devtools.webhook_receiver import WebhookReceiver
from tests.integration.handlers.test_delivery import (  # noqa: F401 (fixtures)
    LIMES,
    START,
    aws,
    bar,
    deliveries_of,
    monitor_at,
    notification_ids,
    receiver,
    sell_out,
)
from tests.support.delivery import DeliveryAws, subscribe


def test_a_webhook_whose_url_path_is_not_ascii_is_attempted_and_recorded(
    bar: psycopg.Connection[Any],  # noqa: F811
    aws: DeliveryAws,  # noqa: F811
    receiver: WebhookReceiver,  # noqa: F811
) -> None:
    """POST /api/notification-subscriptions accepts the URL (201), but every send raises
    UnicodeEncodeError out of post_webhook, out of send_deliveries: the queue message fails
    (to the DLQ after 5 receives), the outcome is never recorded, the delivery stays
    pending with 0 attempts and no last_error, and every sweep enqueues it again; it never
    goes dead. Expected: an attempt recorded (sent, failed or dead)."""
    created = subscribe({"channel": "webhook", "target": receiver.url("caf\u00e9")})
    receiver.register("caf\u00e9", created["secret"])
    sell_out(bar, LIMES)
    monitor_at(START)

    aws.drain()  # the batch item fails (reported to SQS), the delivery is left as it was
    [notification] = notification_ids(bar)
    [mine] = [d for d in deliveries_of(notification) if d["subscription_id"] == created["id"]]
    assert (mine["status"], mine["attempts"]) != ("pending", 0), mine
