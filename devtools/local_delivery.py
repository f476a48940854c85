"""Delivery in `make run` (SPEC §10): the template's queues and topics in moto, the queue's
event source, a webhook receiver that verifies every signature, and the e-mails as `.eml`.

- Every AWS::SQS::Queue and AWS::SNS::Topic of template.yaml is created in moto's server (the
  one serving DynamoDB) at start-up; a !Ref to one means its URL or ARN locally. They are not
  journaled: a restart starts with empty queues, and the deliveries still pending in
  PostgreSQL are put on the new queue by the monitor's dispatch.
- The functions an SQS event invokes (the delivery function) are fed by
  `devtools.sqs_event_source`, as Lambda's event source mapping would; so are the functions a
  rule on the stock event bus invokes, through a queue of the rule's own
  (`devtools.local_events`).
- The local receiver (`devtools.webhook_receiver`, on 127.0.0.1:WEBHOOK_RECEIVER_PORT, 3001)
  verifies every webhook with the `standardwebhooks` package and prints what it received.
- Every message moto's SES took is written to `.local/outbox/` as an `.eml` file and named
  in the terminal.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devtools import sqs_event_source
from devtools.local_events import local_client, rule_sources
from devtools.local_state import local_dir, shown
from devtools.template import LOCAL_ACCOUNT_ID, LOCAL_REGION, LOCAL_STACK_NAME, Template

LOCAL_SENDER = "inventory@demo-bar.example"
DEMO_EMAIL = "manager@demo-bar.example"
RECEIVER_PORT = 3001
DEMO_HOOK = "demo"
POLL_WAIT_SECONDS = 1

Echo = Callable[[str], None]


def outbox_dir() -> Path:
    return local_dir() / "outbox"


def demo_secret_file() -> Path:
    """The demo webhook's secret, shown once at its creation and kept here for the receiver."""
    return local_dir() / "demo_webhook_secret"


def receiver_port() -> int:
    return int(os.environ.get("WEBHOOK_RECEIVER_PORT", str(RECEIVER_PORT)))


def _queue_attributes(template: Template, logical_id: str) -> dict[str, str]:
    properties = (template.raw["Resources"][logical_id].get("Properties")) or {}
    timeout = properties.get("VisibilityTimeout")
    # Locally a message the function failed comes back within seconds, not minutes.
    return {"VisibilityTimeout": str(min(int(timeout), 30))} if isinstance(timeout, int) else {}


def create_queues_and_topics(template: Template, endpoint: str) -> dict[str, str]:
    """Each queue's URL and each topic's ARN, by logical id (created when missing)."""
    sqs, sns = local_client("sqs", endpoint), local_client("sns", endpoint)
    values: dict[str, str] = {}
    for logical_id in template.resources_of_type("AWS::SQS::Queue"):
        name = f"{LOCAL_STACK_NAME}-{logical_id}"
        attributes = _queue_attributes(template, logical_id)
        values[logical_id] = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    for logical_id in template.resources_of_type("AWS::SNS::Topic"):
        name = f"{LOCAL_STACK_NAME}-{logical_id}"
        values[logical_id] = sns.create_topic(Name=name)["TopicArn"]
    local_client("sesv2", endpoint).create_email_identity(EmailIdentity=sender())
    return values


def sender() -> str:
    return os.environ.get("NOTIFICATION_SENDER_EMAIL") or LOCAL_SENDER


def sent_raw_emails(region: str = LOCAL_REGION) -> list[str]:
    """Every raw message moto's SES took in this process, oldest first (moto keeps them in
    its backend; there is no API to read them back)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    sent = ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages
    return [raw for m in sent if isinstance(raw := getattr(m, "raw_data", None), str)]


def queue_arn(url: str) -> str:
    return f"arn:aws:sqs:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:{url.rsplit('/', 1)[-1]}"


class Outbox:
    """moto's sent e-mails, each written once to `.local/outbox/` and named to `echo`."""

    def __init__(self, echo: Echo) -> None:
        self._echo = echo
        self._seen = 0
        self._lock = threading.Lock()

    def collect(self) -> list[Path]:
        with self._lock:
            messages = sent_raw_emails()
            fresh, self._seen = messages[self._seen :], len(messages)
            return [
                self._write(raw, self._seen - len(fresh) + index) for index, raw in enumerate(fresh)
            ]

    def _write(self, raw: str, index: int) -> Path:
        import email
        import email.policy
        from datetime import UTC, datetime

        parsed = email.message_from_string(raw, policy=email.policy.default)
        subject = str(parsed["Subject"] or "no subject")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        slug = re.sub(r"[^A-Za-z0-9]+", "-", subject).strip("-")[:50] or "message"
        folder = outbox_dir()
        folder.mkdir(parents=True, exist_ok=True)
        # Numbered by arrival since the start: two e-mails of one notification, one second apart
        # or not, are two files.
        path = folder / f"{stamp}-{index:04}-{slug}.eml"
        path.write_text(raw, encoding="utf-8")
        self._echo(f"  e-mail to {parsed['To']}: {subject}  ({shown(path)})")
        return path


class QueuePoller:
    """Lambda's SQS event source for the template's queue functions, in one thread."""

    def __init__(
        self,
        endpoint: str,
        sources: list[tuple[str, int, Callable[[dict[str, Any], Any], Any]]],
        outbox: Outbox,
        echo: Echo,
    ) -> None:
        self._sqs = local_client("sqs", endpoint)
        self._sources = sources  # (queue URL, batch size, invoke)
        self._outbox = outbox
        self._echo = echo
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def drain(self) -> int:
        """Invoke on every message visible now; how many were handled."""
        handled = 0
        for url, batch, invoke in self._sources:
            while True:
                polled = self._poll(url, batch, invoke, wait=0)
                if not polled.received:
                    break
                handled += polled.received
        return handled

    def _poll(
        self, url: str, batch: int, invoke: Callable[[dict[str, Any], Any], Any], wait: int
    ) -> sqs_event_source.Polled:
        polled = sqs_event_source.poll_once(
            self._sqs, url, invoke, None, wait_seconds=wait, batch_size=batch
        )
        if polled.error is not None:
            self._echo(f"  delivery function failed: {polled.error}")
        if polled.received:
            self._outbox.collect()
        return polled

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="sqs-event-source", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            for url, batch, invoke in self._sources:
                try:
                    self._poll(url, batch, invoke, wait=POLL_WAIT_SECONDS)
                except Exception as error:  # noqa: BLE001 (moto gone at the stop, say)
                    if self._stop.wait(1):
                        return
                    self._echo(f"  queue poll failed: {type(error).__name__}: {error}")

    def stop(self, timeout: float = 20) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)


SUBSCRIPTIONS_ROUTE = "POST /api/notification-subscriptions"
Request = Callable[..., tuple[int, dict[str, Any]]]


class LocalDelivery:
    """The receiver, the outbox and the queue's event source of one `make run`."""

    def __init__(self, receiver: Any, poller: QueuePoller, outbox: Outbox, echo: Echo) -> None:
        self.receiver = receiver
        self.poller = poller
        self.outbox = outbox
        self._echo = echo

    @classmethod
    def start(
        cls,
        template: Template,
        resources: dict[str, str],
        endpoint: str,
        invoke: Callable[[Any, dict[str, Any]], Any],
        echo: Echo,
    ) -> LocalDelivery | None:
        """None when the template has no queue function, local queue or event rule."""
        from devtools.webhook_receiver import WebhookReceiver

        sources = []
        for spec in template.queue_functions:
            for source in spec.queue_sources:
                url = resources.get(source.queue)
                if url:
                    sources.append((url, source.batch_size, _invoker(invoke, spec)))
        # The template's rules on its event buses, each to a queue of its own in moto.
        sources += rule_sources(template, resources, endpoint, invoke, echo)
        if not sources:
            return None
        try:
            receiver = WebhookReceiver(port=receiver_port(), echo=echo).start()
        except OSError as error:
            # Another process holds the port: a receiver elsewhere, and the demo webhook's
            # deliveries fail (and are retried) until the port is free at a restart.
            echo(f"  webhook receiver: port {receiver_port()} unavailable ({error.strerror})")
            receiver = WebhookReceiver(port=0, echo=echo).start()
        outbox = Outbox(echo)
        return cls(receiver, QueuePoller(endpoint, sources, outbox, echo), outbox, echo)

    def subscribe_demo(self, request: Request, *, first_start: bool) -> list[str]:
        """On the demo bar's first start, an e-mail and a webhook subscription (the receiver's
        demo hook); on later starts the hook gets its kept secret back. Lines to print."""
        # The configured port's URL even when another process held it at this start: it is the
        # one every later start listens on.
        url = f"http://127.0.0.1:{receiver_port()}/hooks/{DEMO_HOOK}"
        secret_file = demo_secret_file()
        if first_start:
            status, answer = request(
                SUBSCRIPTIONS_ROUTE, body={"channel": "email", "target": DEMO_EMAIL}
            )
            lines = [f"e-mail subscription for {DEMO_EMAIL} ({status})"]
            status, answer = request(
                SUBSCRIPTIONS_ROUTE, body={"channel": "webhook", "target": url}
            )
            secret = (answer.get("data") or {}).get("secret")
            if status == 201 and isinstance(secret, str):
                secret_file.parent.mkdir(parents=True, exist_ok=True)
                secret_file.write_text(secret + "\n")
                secret_file.chmod(0o600)
            lines.append(f"webhook subscription for {url} ({status})")
        else:
            lines = []
        if secret_file.exists():
            self.receiver.register(DEMO_HOOK, secret_file.read_text().strip())
            lines.append(
                f"webhook receiver on {url}: verifies every signature (secret in "
                f"{shown(secret_file)})"
            )
        return lines

    def drain(self) -> int:
        return self.poller.drain()

    def stop(self) -> None:
        try:
            self.poller.stop()
        finally:
            self.receiver.stop()


def _invoker(
    invoke: Callable[[Any, dict[str, Any]], Any], spec: Any
) -> Callable[[dict[str, Any], Any], Any]:
    def handler(event: dict[str, Any], _context: Any) -> Any:
        return invoke(spec, event)

    return handler
