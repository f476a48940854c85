"""The local webhook receiver (devtools/webhook_receiver.py) on its own: concurrent requests,
unknown paths, unsigned hooks, and silence unless asked to print."""

from __future__ import annotations

import binascii
import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from devtools.webhook_receiver import WebhookReceiver
from tests.integration.delivery.conftest import new_secret, signed_headers


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_concurrent_deliveries_are_all_recorded_with_their_attempt_numbers(
    receiver: WebhookReceiver, capfd: pytest.CaptureFixture[str]
) -> None:
    secret = new_secret()
    url = receiver.register("shop", secret)
    body = b'{"type": "notification.created"}'
    jobs = [f"d-{n % 5}" for n in range(40)]  # five ids, eight attempts each

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda i: post(url, body, signed_headers(secret, i, body)), jobs))

    assert statuses == [200] * 40
    deliveries = receiver.deliveries("shop")
    for webhook_id in {f"d-{n}" for n in range(5)}:
        attempts = sorted(d.attempt for d in deliveries if d.webhook_id == webhook_id)
        assert attempts == list(range(1, 9))
    assert capfd.readouterr() == ("", "")  # nothing printed, not even http.server's log


def test_unknown_paths_and_unsigned_hooks(receiver: WebhookReceiver) -> None:
    slack = receiver.register_unsigned("slack")
    body = json.dumps({"text": "Espresso unavailable"}).encode()

    assert post(slack, body, {"Content-Type": "application/json"}) == 200
    assert post(receiver.url("nobody"), body, {}) == 404
    assert [d.body for d in receiver.deliveries("slack")] == [{"text": "Espresso unavailable"}]
    assert (receiver.unknown, receiver.rejected) == (1, 0)


def test_echo_tells_what_arrived() -> None:
    lines: list[str] = []
    with WebhookReceiver(echo=lines.append) as receiver:
        secret = new_secret()
        url = receiver.register("shop", secret)
        body = b'{"type": "notification.resolved"}'
        post(url, body, signed_headers(secret, "d-9", body))

    assert lines == [
        "  webhook shop: notification.resolved  (webhook-id d-9, attempt 1, signature verified)"
        " -> 200"
    ]


def test_a_malformed_secret_fails_at_registration(receiver: WebhookReceiver) -> None:
    with pytest.raises(binascii.Error):
        receiver.register("shop", "whsec_not-base64!")
    with pytest.raises(ValueError, match="at least one secret"):
        receiver.register("shop")
