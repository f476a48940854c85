"""Review B (issue 17): webhook transport findings, each a failing test that shows the bug."""

from __future__ import annotations

import time

from devtools.webhook_receiver import WebhookReceiver
from inventory.data.webhook_client import post_webhook
from inventory.rules.delivery_types import Attempt


def test_a_url_with_a_non_ascii_path_is_an_attempt_not_an_exception(
    receiver: WebhookReceiver,
) -> None:
    """check_target accepts https://example.com/café (printable), but the pinned urllib3
    connection writes the request line as ASCII: post_webhook raises UnicodeEncodeError
    instead of returning an Attempt (REFUSED, or the path percent-encoded and sent)."""
    receiver.register_unsigned("caf\u00e9")
    url = f"http://127.0.0.1:{receiver.port}/hooks/caf\u00e9"
    attempt = post_webhook(url, b"{}", {}, allow_private=True, timeout_seconds=3)
    assert isinstance(attempt, Attempt)


def test_name_resolution_counts_against_the_attempts_deadline(receiver: WebhookReceiver) -> None:
    """The module says one deadline bounds the whole attempt, resolution included; the
    resolver (socket.getaddrinfo, blocking) runs outside the timer's reach, so a slow DNS
    answer adds its whole time on top of the 15 s."""
    url = receiver.register_unsigned("slow-dns").replace("127.0.0.1", "slow.example")

    def slow_resolver(host: str, port: int) -> list[str]:
        time.sleep(2)
        return ["127.0.0.1"]

    started = time.monotonic()
    post_webhook(url, b"{}", {}, allow_private=True, timeout_seconds=0.5, resolve=slow_resolver)
    assert time.monotonic() - started < 1.5
