"""post_webhook (data/webhook_client.py) against the local receiver over real sockets: what
each answer becomes, the SSRF rule at send time, the pinned address, TLS against the URL's
name, and the one deadline."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from devtools.webhook_receiver import Behaviour, WebhookReceiver
from inventory.data.webhook_client import post_webhook
from inventory.rules.delivery_types import Attempt, AttemptResult
from tests.integration.delivery.conftest import TLS_HOST, CertificateFiles, new_secret
from tests.integration.delivery.conftest import signed_headers as sign


def payload(kind: str = "notification.created") -> bytes:
    body = {"type": kind, "timestamp": "2025-01-02T03:04:05Z", "data": {"title": "Café ☕"}}
    return json.dumps(body, ensure_ascii=False).encode()


def send(
    url: str, secret: str, *, webhook_id: str | None = None, **options: object
) -> tuple[Attempt, dict[str, str]]:
    """One signed attempt to a private address (the receiver's), allowed."""
    body = payload()
    headers = sign(secret, webhook_id or str(uuid.uuid4()), body)
    options.setdefault("allow_private", True)
    return post_webhook(url, body, headers, **options), headers  # type: ignore[arg-type]


def assert_discreet(attempt: Attempt, secret: str, headers: dict[str, str]) -> None:
    """Nothing of the secret or the signature in what the deliveries list will show."""
    text = repr(attempt)
    signature = headers["webhook-signature"].split(",", 1)[1]
    assert secret.removeprefix("whsec_") not in text
    assert signature not in text


def always(*addresses: str) -> tuple[list[tuple[str, int]], object]:
    calls: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> Iterable[str]:
        calls.append((host, port))
        return addresses

    return calls, resolve


# --- answers -----------------------------------------------------------------------------


def test_a_signed_webhook_is_delivered_and_verified_by_the_receiver(
    receiver: WebhookReceiver,
) -> None:
    old, current = new_secret(), new_secret()
    url = receiver.register("shop", current, old)  # mid-rotation: either secret verifies
    attempt, _ = send(url, old, webhook_id="d-1")

    assert attempt == Attempt(AttemptResult.DELIVERED, status_code=200)
    [delivery] = receiver.deliveries("shop")
    assert (delivery.webhook_id, delivery.attempt, delivery.status) == ("d-1", 1, 200)
    assert delivery.body["data"] == {"title": "Café ☕"}
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert receiver.rejected == 0


def test_a_bad_signature_is_rejected_by_the_receiver_and_retried(
    receiver: WebhookReceiver,
) -> None:
    url = receiver.register("shop", new_secret())
    other = new_secret()
    attempt, headers = send(url, other)

    assert (attempt.result, attempt.status_code) == (AttemptResult.RETRY, 401)
    assert attempt.error == "HTTP 401 from the receiver."
    assert receiver.rejected == 1
    assert receiver.deliveries() == []
    assert_discreet(attempt, other, headers)


def test_410_is_gone(receiver: WebhookReceiver) -> None:
    secret = new_secret()
    url = receiver.register("shop", secret, behaviour=Behaviour(status=410))
    attempt, _ = send(url, secret)

    assert (attempt.result, attempt.status_code) == (AttemptResult.GONE, 410)


def test_503_with_retry_after_seconds_then_delivered_on_the_same_id(
    receiver: WebhookReceiver,
) -> None:
    secret = new_secret()
    url = receiver.register("shop", secret, behaviour=Behaviour(fail_first=2, retry_after="120"))

    first, headers = send(url, secret, webhook_id="d-7")
    second, _ = send(url, secret, webhook_id="d-7")
    third, _ = send(url, secret, webhook_id="d-7")

    assert first == Attempt(
        AttemptResult.RETRY, "HTTP 503 from the receiver.", 120.0, status_code=503
    )
    assert second.result is AttemptResult.RETRY
    assert third == Attempt(AttemptResult.DELIVERED, status_code=200)
    assert [d.attempt for d in receiver.deliveries("shop")] == [1, 2, 3]
    assert_discreet(first, secret, headers)


def test_429_with_an_http_date_retry_after(receiver: WebhookReceiver) -> None:
    secret = new_secret()
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    url = receiver.register("shop", secret, behaviour=Behaviour(status=429, retry_after=later))
    attempt, _ = send(url, secret)

    assert (attempt.result, attempt.status_code) == (AttemptResult.RETRY, 429)
    assert attempt.retry_after_seconds is not None
    assert 85 <= attempt.retry_after_seconds <= 90


def test_another_4xx_is_retried_with_its_status(receiver: WebhookReceiver) -> None:
    secret = new_secret()
    url = receiver.register("shop", secret, behaviour=Behaviour(status=404))
    attempt, _ = send(url, secret)

    assert attempt == Attempt(AttemptResult.RETRY, "HTTP 404 from the receiver.", status_code=404)


def test_a_redirect_is_not_followed(receiver: WebhookReceiver) -> None:
    secret = new_secret()
    elsewhere = receiver.register("elsewhere", secret)
    url = receiver.register("shop", secret, behaviour=Behaviour(status=302, location=elsewhere))
    attempt, _ = send(url, secret)

    assert (attempt.result, attempt.status_code) == (AttemptResult.RETRY, 302)
    assert attempt.error is not None
    assert "redirect, not followed" in attempt.error
    assert [d.hook for d in receiver.deliveries()] == ["shop"]


def test_a_closed_port_is_retried(receiver: WebhookReceiver) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    secret = new_secret()
    attempt, headers = send(f"http://127.0.0.1:{port}/hooks/x", secret)

    assert attempt.result is AttemptResult.RETRY
    assert attempt.error == f"could not connect to 127.0.0.1:{port}: Connection refused"
    assert_discreet(attempt, secret, headers)


# --- the deadline --------------------------------------------------------------------


@pytest.mark.slow
def test_a_hanging_receiver_costs_the_timeout(receiver: WebhookReceiver) -> None:
    secret = new_secret()
    url = receiver.register("shop", secret, behaviour=Behaviour(hang_seconds=60))
    started = time.monotonic()
    attempt, _ = send(url, secret)  # the default 15 s
    elapsed = time.monotonic() - started

    assert attempt == Attempt(AttemptResult.RETRY, "timed out after 15 s")
    assert 14 <= elapsed <= 20, elapsed


def test_a_receiver_dripping_its_answer_is_cut_at_the_deadline(
    receiver: WebhookReceiver,
) -> None:
    # A byte every 0.3 s: every read succeeds well inside a per-read timeout, the whole would
    # take ~40 s.
    secret = new_secret()
    url = receiver.register("shop", secret, behaviour=Behaviour(drip_interval_seconds=0.3))
    started = time.monotonic()
    attempt, _ = send(url, secret, timeout_seconds=2)
    elapsed = time.monotonic() - started

    assert attempt == Attempt(AttemptResult.RETRY, "timed out after 2 s")
    assert 1.8 <= elapsed <= 4, elapsed


def test_a_dripping_tls_receiver_is_cut_at_the_deadline_too(
    tls_receiver: WebhookReceiver, certificates: CertificateFiles
) -> None:
    secret = new_secret()
    tls_receiver.register("shop", secret, behaviour=Behaviour(drip_interval_seconds=0.3))
    _, resolve = always("127.0.0.1")
    started = time.monotonic()
    attempt, _ = send(
        f"https://{TLS_HOST}:{tls_receiver.port}/hooks/shop",
        secret,
        timeout_seconds=2,
        resolve=resolve,
        ca_certs=str(certificates.ca_file),
    )
    elapsed = time.monotonic() - started

    assert attempt == Attempt(AttemptResult.RETRY, "timed out after 2 s")
    assert 1.8 <= elapsed <= 4, elapsed


# --- TLS and the pinned address ----------------------------------------------------


def test_tls_goes_to_the_checked_address_and_speaks_the_urls_name(
    tls_receiver: WebhookReceiver, certificates: CertificateFiles
) -> None:
    # hooks.test resolves nowhere but through the hook: a second lookup by the HTTP library
    # would fail the send.
    secret = new_secret()
    tls_receiver.register("shop", secret)
    calls, resolve = always("127.0.0.1")
    url = f"https://{TLS_HOST}:{tls_receiver.port}/hooks/shop?source=test"
    attempt, _ = send(url, secret, resolve=resolve, ca_certs=str(certificates.ca_file))

    assert attempt == Attempt(AttemptResult.DELIVERED, status_code=200)
    assert calls == [(TLS_HOST, tls_receiver.port)]
    [delivery] = tls_receiver.deliveries("shop")
    assert delivery.headers["host"] == f"{TLS_HOST}:{tls_receiver.port}"


def test_a_certificate_for_another_name_is_not_accepted(
    tls_receiver: WebhookReceiver, certificates: CertificateFiles
) -> None:
    secret = new_secret()
    tls_receiver.register("shop", secret)
    _, resolve = always("127.0.0.1")
    url = f"https://other.test:{tls_receiver.port}/hooks/shop"
    attempt, _ = send(url, secret, resolve=resolve, ca_certs=str(certificates.ca_file))

    assert attempt.result is AttemptResult.RETRY
    assert attempt.error is not None
    assert attempt.error.startswith("the TLS certificate of other.test is not accepted")
    assert tls_receiver.deliveries() == []


def test_a_certificate_of_an_untrusted_ca_is_not_accepted(
    tls_receiver: WebhookReceiver,
) -> None:
    secret = new_secret()
    tls_receiver.register("shop", secret)
    _, resolve = always("127.0.0.1")
    url = f"https://{TLS_HOST}:{tls_receiver.port}/hooks/shop"
    attempt, _ = send(url, secret, resolve=resolve)  # the system's trust store

    assert attempt.result is AttemptResult.RETRY
    assert attempt.error is not None
    assert "certificate" in attempt.error
    assert tls_receiver.deliveries() == []


def test_the_next_resolved_address_is_tried_when_one_refuses(
    receiver: WebhookReceiver,
) -> None:
    # The receiver listens on 127.0.0.1 only: 127.0.0.2 (loopback too) refuses.
    secret = new_secret()
    receiver.register("shop", secret)
    calls, resolve = always("127.0.0.2", "127.0.0.1")
    attempt, _ = send(f"http://receiver.test:{receiver.port}/hooks/shop", secret, resolve=resolve)

    assert attempt.result is AttemptResult.DELIVERED
    assert len(calls) == 1
    assert receiver.deliveries("shop")[0].headers["host"] == f"receiver.test:{receiver.port}"


# --- the SSRF rule at send time ----------------------------------------------------


@pytest.mark.parametrize(
    ("host", "addresses"),
    [
        ("rebound.example", ("127.0.0.1",)),
        ("rebound.example", ("93.184.215.14", "10.0.0.7")),  # one private address is enough
        ("rebound.example", ("169.254.169.254",)),
        ("rebound.example", ("::ffff:127.0.0.1",)),
    ],
)
def test_a_name_now_resolving_to_a_private_address_is_refused(
    receiver: WebhookReceiver, host: str, addresses: tuple[str, ...]
) -> None:
    secret = new_secret()
    receiver.register("shop", secret)
    _, resolve = always(*addresses)
    url = f"https://{host}:{receiver.port}/hooks/shop"
    attempt, _ = send(url, secret, allow_private=False, resolve=resolve)

    assert attempt.result is AttemptResult.REFUSED
    assert attempt.error is not None
    assert attempt.error.startswith(f"The host {host} now resolves to ")
    assert receiver.deliveries() == []
    assert receiver.rejected == 0


def test_localhost_and_loopback_literals_are_refused_by_the_real_resolver(
    receiver: WebhookReceiver,
) -> None:
    secret = new_secret()
    receiver.register("shop", secret)
    for host in ("localhost", "127.0.0.1", "[::1]"):
        url = f"https://{host}:{receiver.port}/hooks/shop"
        attempt, _ = send(url, secret, allow_private=False)
        assert attempt.result is AttemptResult.REFUSED, (host, attempt)
    assert receiver.deliveries() == []


def test_plain_http_is_refused_without_the_flag(receiver: WebhookReceiver) -> None:
    secret = new_secret()
    url = receiver.register("shop", secret)
    _, resolve = always("93.184.215.14")
    attempt, _ = send(
        url.replace("127.0.0.1", "hooks.example"), secret, allow_private=False, resolve=resolve
    )

    assert attempt == Attempt(AttemptResult.REFUSED, "Must be an https:// URL.")


def test_a_name_that_does_not_resolve_is_retried(receiver: WebhookReceiver) -> None:
    secret = new_secret()
    _, resolve = always()
    attempt, _ = send("https://gone.example/hooks/x", secret, resolve=resolve)

    assert attempt == Attempt(AttemptResult.RETRY, "The host gone.example does not resolve.")


# --- malformed targets and answers that are not HTTP -----------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example:99999/x",
        "https://hooks.example:0/x",
        "https://user:password@hooks.example/x",
        "https:///x",
        f"https://{'a' * 64}.example/x",  # a label longer than DNS allows
        "ftp://hooks.example/x",
    ],
)
def test_a_url_that_cannot_be_sent_to_is_refused(url: str) -> None:
    _, resolve = always("93.184.215.14")
    attempt, _ = send(url, new_secret(), resolve=resolve)

    assert attempt.result is AttemptResult.REFUSED, attempt


def test_a_failing_resolver_is_retried() -> None:
    def failing(host: str, port: int) -> Iterable[str]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    attempt, _ = send("https://hooks.example/x", new_secret(), resolve=failing)

    assert attempt == Attempt(AttemptResult.RETRY, "The host hooks.example does not resolve.")


@contextmanager
def raw_server(answer: bytes) -> Iterator[int]:
    """A TCP server for one request: it reads the request's head, writes `answer` and closes.
    Its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve() -> None:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            connection.settimeout(2)
            received = b""
            while b"\r\n\r\n" not in received:
                chunk = connection.recv(4096)
                if not chunk:
                    break
                received += chunk
            connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        thread.join(timeout=5)
        listener.close()


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (b"", "127.0.0.1:{port} closed the connection without an answer"),
        (b"SMTP ready\r\n\r\n", "127.0.0.1:{port} answered something that is not HTTP"),
    ],
)
def test_an_answer_that_is_not_http_is_retried(answer: bytes, expected: str) -> None:
    with raw_server(answer) as port:
        attempt, _ = send(f"http://127.0.0.1:{port}/hooks/x", new_secret())

    assert attempt.result is AttemptResult.RETRY
    assert attempt.error is not None
    assert attempt.error.startswith(expected.format(port=port))


def test_an_answer_cut_short_after_its_status_is_still_that_status() -> None:
    head = b"HTTP/1.1 202 Accepted\r\nContent-Length: 100\r\nConnection: close\r\n\r\n"
    with raw_server(head + b"only part") as port:
        attempt, _ = send(f"http://127.0.0.1:{port}/hooks/x", new_secret())

    assert attempt == Attempt(AttemptResult.DELIVERED, status_code=202)


def test_tls_to_a_plain_http_receiver_is_retried(receiver: WebhookReceiver) -> None:
    secret = new_secret()
    receiver.register("shop", secret)
    attempt, _ = send(f"https://127.0.0.1:{receiver.port}/hooks/shop", secret)

    assert attempt.result is AttemptResult.RETRY
    assert attempt.error == f"TLS with 127.0.0.1:{receiver.port} failed: WRONG_VERSION_NUMBER"


def test_a_url_with_a_non_ascii_path_is_sent_percent_encoded(receiver: WebhookReceiver) -> None:
    # The subscription check accepts any printable URL; the request line is ASCII.
    receiver.register_unsigned("caf%C3%A9")
    url = f"http://127.0.0.1:{receiver.port}/hooks/caf\u00e9"

    attempt = post_webhook(url, b"{}", {}, allow_private=True, timeout_seconds=3)

    assert attempt.result is AttemptResult.DELIVERED
    assert len(receiver.deliveries("caf%C3%A9")) == 1


def test_name_resolution_counts_against_the_attempts_deadline(receiver: WebhookReceiver) -> None:
    url = receiver.register_unsigned("slow-dns").replace("127.0.0.1", "slow.example")

    def slow_resolver(host: str, port: int) -> list[str]:
        time.sleep(2)
        return ["127.0.0.1"]

    started = time.monotonic()
    attempt = post_webhook(
        url, b"{}", {}, allow_private=True, timeout_seconds=0.5, resolve=slow_resolver
    )

    assert time.monotonic() - started < 1.5
    assert attempt.result is AttemptResult.RETRY
    assert attempt.error == "resolving slow.example timed out after 0.5 s"
    assert receiver.deliveries("slow-dns") == []
