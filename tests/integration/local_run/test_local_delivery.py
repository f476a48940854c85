"""`make run`'s delivery tooling (devtools/local_delivery.py): the demo webhook's port and
the `.eml` outbox."""

from __future__ import annotations

import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from devtools import local_delivery
from devtools.local_delivery import LocalDelivery, Outbox


def _template() -> Any:
    source = SimpleNamespace(queue="NotificationDeliveryQueue", batch_size=5)
    return SimpleNamespace(
        queue_functions=[SimpleNamespace(queue_sources=(source,))], event_rules=[]
    )


def test_the_demo_webhook_is_subscribed_at_the_configured_port_even_when_it_is_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first start whose WEBHOOK_RECEIVER_PORT is taken still subscribes the configured port
    (the receiver listens elsewhere this time): the port every later start listens on."""
    monkeypatch.setenv("INVENTORY_LOCAL_DIR", str(tmp_path))
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    monkeypatch.setenv("WEBHOOK_RECEIVER_PORT", str(port))
    sent: list[dict[str, Any]] = []

    def request(route: str, *, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        sent.append(body)
        return 201, {"data": {"secret": "whsec_" + "A" * 44}}

    delivery = LocalDelivery.start(
        _template(),
        {"NotificationDeliveryQueue": "http://127.0.0.1:1/queue"},
        "http://127.0.0.1:1",
        lambda spec, event: None,
        lambda line: None,
    )
    assert delivery is not None
    try:
        delivery.subscribe_demo(request, first_start=True)
    finally:
        delivery.stop()
        busy.close()
    [webhook] = [b for b in sent if b["channel"] == "webhook"]
    assert webhook["target"] == f"http://127.0.0.1:{port}/hooks/demo"


def test_two_emails_with_the_same_subject_in_one_second_are_two_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two collects in one second (one per polled batch) of e-mails with one subject (two
    e-mail subscribers of one notification) are two files, not one overwritten."""
    monkeypatch.setenv("INVENTORY_LOCAL_DIR", str(tmp_path))
    raw = "Subject: Urgent: Mojito cannot be sold\r\nTo: {to}\r\n\r\nbody\r\n"
    inbox: list[str] = []
    monkeypatch.setattr(local_delivery, "sent_raw_emails", lambda region="": list(inbox))
    outbox = Outbox(lambda line: None)
    inbox.append(raw.format(to="a@bar.example"))
    first = outbox.collect()
    inbox.append(raw.format(to="b@bar.example"))
    second = outbox.collect()
    assert len({*first, *second}) == 2
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2
