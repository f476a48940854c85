"""build_email and send_email (data/email_client.py) through moto's SES v2 over HTTP: the MIME
message SES stores, a sandbox-style refusal and an unreachable endpoint."""

from __future__ import annotations

import email
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from typing import TYPE_CHECKING, Any

import pytest

from inventory.data import email_client
from inventory.data.email_client import DELIVERY_ID_HEADER, build_email, send_email
from inventory.rules.delivery_types import AttemptResult
from tests.support import services

if TYPE_CHECKING:
    from mypy_boto3_sesv2.client import SESV2Client

SENDER = "alerts@inventory.example"
NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.fixture
def ses(moto_endpoint: str, service_env: pytest.MonkeyPatch) -> Iterator[SESV2Client]:
    """moto's SES v2 with the sender verified; the production client pointed at it."""
    import boto3

    service_env.setenv("AWS_ENDPOINT_URL_SESV2", moto_endpoint)
    email_client.sesv2_client.cache_clear()
    client = boto3.client("sesv2", endpoint_url=moto_endpoint)
    client.create_email_identity(EmailIdentity=SENDER)
    yield client
    email_client.sesv2_client.cache_clear()


def stored_message(delivery_id: uuid.UUID) -> tuple[Any, EmailMessage]:
    """What moto's SES backend (in this process: ThreadedMotoServer) stored for the delivery."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    [raw] = [m for m in backend.sent_messages if str(delivery_id) in getattr(m, "raw_data", "")]
    parsed = email.message_from_bytes(raw.raw_data.encode(), policy=default)
    assert isinstance(parsed, EmailMessage)
    return raw, parsed


def message_for(delivery_id: uuid.UUID, recipient: str = "ann.lee@shop.example") -> bytes:
    return build_email(
        delivery_id=delivery_id,
        sender=f"Inventory · Bar <{SENDER}>",
        recipient=recipient,
        subject="Café: 3 packages\r\nBcc: evil@example.com unavailable",
        text="Espresso ☕ is unavailable.\nSee the inbox.",
        html="<p>Espresso ☕ is <b>unavailable</b>.</p>",
        now=NOW,
    )


def test_an_email_is_sent_as_multipart_alternative_with_both_parts(ses: SESV2Client) -> None:
    delivery_id = uuid.uuid4()
    raw = message_for(delivery_id)

    attempt = send_email(raw, sender=SENDER, recipient="ann.lee@shop.example")  # own client

    assert attempt.result is AttemptResult.DELIVERED, attempt
    assert attempt.extra["message_id"]
    stored, message = stored_message(delivery_id)
    assert stored.destinations[0] == "ann.lee@shop.example"
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "Café: 3 packages Bcc: evil@example.com unavailable"
    assert message["Bcc"] is None  # a line break in the subject is no new header
    assert message["From"].addresses[0].display_name == "Inventory · Bar"
    assert message["To"] == "ann.lee@shop.example"
    assert message["Date"].datetime == NOW
    assert message["Message-ID"] == f"<{delivery_id}@inventory.example>"
    assert message[DELIVERY_ID_HEADER] == str(delivery_id)
    assert message["Auto-Submitted"] == "auto-generated"
    text, html = message.iter_parts()
    assert (text.get_content_type(), text.get_content_charset()) == ("text/plain", "utf-8")
    assert (html.get_content_type(), html.get_content_charset()) == ("text/html", "utf-8")
    assert text["Content-Transfer-Encoding"] == "quoted-printable"
    assert (
        text.get_content().replace("\r\n", "\n") == "Espresso ☕ is unavailable.\nSee the inbox.\n"
    )
    assert html.get_content().strip() == "<p>Espresso ☕ is <b>unavailable</b>.</p>"


def test_the_raw_message_is_7_bit_ascii_with_crlf_line_ends() -> None:
    raw = message_for(uuid.uuid4())

    assert b"\n" not in raw.replace(b"\r\n", b"")
    raw.decode("ascii")  # headers RFC 2047 encoded, the parts quoted-printable


def test_an_unverified_sender_is_retried_saying_why(ses: SESV2Client) -> None:
    # An identity verified after the deploy: the same message goes through then.
    raw = message_for(uuid.uuid4())
    attempt = send_email(
        raw, sender="nobody@unverified.example", recipient="ann.lee@shop.example", client=ses
    )

    assert attempt.result is AttemptResult.RETRY
    assert attempt.error is not None
    assert attempt.error.startswith("SES MessageRejected: ")
    assert "nobody@unverified.example" in attempt.error
    assert "SES sandbox" in attempt.error


def test_an_unreachable_endpoint_is_retried(service_env: pytest.MonkeyPatch) -> None:
    service_env.setenv("AWS_ENDPOINT_URL_SESV2", f"http://127.0.0.1:{services.free_port()}")
    client = email_client.create_sesv2_client()
    attempt = send_email(
        message_for(uuid.uuid4()), sender=SENDER, recipient="a@shop.example", client=client
    )

    assert attempt.result is AttemptResult.RETRY
    assert attempt.error is not None
    assert attempt.error.startswith("SES unreachable: Could not connect")


def test_a_malformed_endpoint_is_retried(service_env: pytest.MonkeyPatch) -> None:
    service_env.setenv("AWS_ENDPOINT_URL_SESV2", "not a url")
    email_client.sesv2_client.cache_clear()
    try:
        attempt = send_email(message_for(uuid.uuid4()), sender=SENDER, recipient="a@shop.example")
    finally:
        email_client.sesv2_client.cache_clear()

    assert attempt.result is AttemptResult.RETRY
    assert attempt.error is not None
    assert attempt.error.startswith("SES unreachable: ")


def test_a_sender_without_a_domain_still_gets_a_message_id() -> None:
    raw = build_email(
        delivery_id=uuid.UUID(int=1),
        sender="alerts",
        recipient="a@shop.example",
        subject="s",
        text="t",
        html="<p>h</p>",
        now=NOW,
    )
    message = email.message_from_bytes(raw, policy=default)
    # Longer than a line: folded, as RFC 5322 allows.
    assert message["Message-ID"].strip() == f"<{uuid.UUID(int=1)}@inventory-automation.invalid>"
