"""Standard Webhooks signatures: a known vector, an HMAC computed here, and the standard's own
library when it is installed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime

import pytest

from inventory.rules.webhook_signatures import (
    secret_key,
    sign,
    signature_header,
    webhook_headers,
)

# The Standard Webhooks specification's own example.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

KEY = bytes(range(32))
SECRET = "whsec_" + base64.b64encode(KEY).decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"the previous key, still valid!!!").decode()
BODY = b'{"type":"notification.created","timestamp":"2026-03-08T14:05:00.000Z","data":{}}'


def test_the_specification_s_example_signs_as_published() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_a_signature_is_hmac_sha256_of_id_timestamp_and_body() -> None:
    expected = hmac.new(KEY, b"delivery-1.1772978700." + BODY, hashlib.sha256).digest()

    signature = sign(SECRET, "delivery-1", 1772978700, BODY)

    assert signature == "v1," + base64.b64encode(expected).decode()


def test_a_secret_without_its_prefix_signs_the_same() -> None:
    bare = SECRET.removeprefix("whsec_")

    assert sign(bare, "id", 1, BODY) == sign(SECRET, "id", 1, BODY)
    assert secret_key(SECRET) == KEY


@pytest.mark.parametrize("secret", ["whsec_", "whsec_not base64!", "whsec_abc"])
def test_a_malformed_secret_is_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="secret"):
        sign(secret, "id", 1, BODY)


def test_while_a_secret_is_rotated_both_sign_space_separated() -> None:
    header = signature_header([SECRET, OLD_SECRET], "id", 7, BODY)

    assert header == f"{sign(SECRET, 'id', 7, BODY)} {sign(OLD_SECRET, 'id', 7, BODY)}"


def test_no_secret_no_signature() -> None:
    with pytest.raises(ValueError, match="at least one"):
        signature_header([], "id", 7, BODY)


def test_the_headers_of_a_delivery() -> None:
    headers = webhook_headers([SECRET], "3f2b…", 1772978700, BODY)

    assert headers == {
        "content-type": "application/json",
        "webhook-id": "3f2b…",
        "webhook-timestamp": "1772978700",
        "webhook-signature": sign(SECRET, "3f2b…", 1772978700, BODY),
    }


def test_the_standard_webhooks_library_verifies_with_either_secret() -> None:
    webhooks = pytest.importorskip("standardwebhooks")
    now = int(time.time())  # the library checks the timestamp against its own clock
    headers = webhook_headers([SECRET, OLD_SECRET], "delivery-1", now, BODY)

    for secret in (SECRET, OLD_SECRET):
        assert webhooks.Webhook(secret).verify(BODY, headers) == {
            "type": "notification.created",
            "timestamp": "2026-03-08T14:05:00.000Z",
            "data": {},
        }
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(BODY, headers)


def test_the_standard_webhooks_library_signs_the_same() -> None:
    webhooks = pytest.importorskip("standardwebhooks")
    at = datetime.fromtimestamp(SPEC_TIMESTAMP, UTC)

    assert webhooks.Webhook(SECRET).sign("id", at, BODY.decode()) == sign(
        SECRET, "id", SPEC_TIMESTAMP, BODY
    )
