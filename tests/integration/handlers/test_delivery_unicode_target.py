"""A webhook URL that is not ASCII, end to end through the real monitor and delivery handlers:
the subscription accepts it, and the delivery percent-encodes it (review, issue 17)."""

from __future__ import annotations

from typing import Any

import psycopg

from devtools.webhook_receiver import WebhookReceiver
from tests.integration.handlers.test_delivery import (  # noqa: F401 (fixtures)
    LIMES,
    START,
    bar,
    deliveries_of,
    notification_ids,
    sell_out,
)
from tests.support.delivery import DeliveryAws, subscribe
from tests.support.scheduled_runs import monitor_at


def test_a_webhook_whose_url_path_is_not_ascii_is_delivered(
    bar: psycopg.Connection[Any],  # noqa: F811
    aws: DeliveryAws,
    receiver: WebhookReceiver,
) -> None:
    """The subscription accepts the URL (201); before the fix every send raised
    UnicodeEncodeError, the outcome was never recorded and the delivery never settled."""
    created = subscribe({"channel": "webhook", "target": receiver.url("caf\u00e9")})
    receiver.register("caf%C3%A9", created["secret"])  # what arrives: percent-encoded
    sell_out(bar, LIMES)
    monitor_at(START)

    aws.drain()

    [notification] = notification_ids(bar)
    [mine] = [d for d in deliveries_of(notification) if d["subscription_id"] == created["id"]]
    assert (mine["status"], mine["attempts"]) == ("sent", 1), mine
    assert receiver.rejected == 0
    assert len(receiver.deliveries("caf%C3%A9")) == 1
