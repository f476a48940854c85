"""Fixtures of the delivery tests: a webhook receiver on 127.0.0.1 and delivery's AWS side in
moto (tests/support/delivery.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from devtools.webhook_receiver import WebhookReceiver
from tests.support.delivery import DeliveryAws, set_up_delivery


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
