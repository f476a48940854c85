"""A local webhook receiver: what `make run` and the delivery tests send webhooks to.

Every request to a signed hook is verified with the independent `standardwebhooks` package (not
with this codebase's signer), under each secret the hook knows (the current one and, after a
rotation, the previous). A verified delivery is recorded (webhook-id, timestamp, parsed body,
its attempt number per webhook-id) and answered as the hook's Behaviour says: 200, 410, a 503
for the first N attempts of each webhook-id (with a Retry-After if asked), a redirect, a hang
longer than the sender's timeout, or an answer dripped a byte at a time. A request that fails
verification is counted and answered 401. Unsigned hooks (Slack-style targets) record without
verifying.

It listens on 127.0.0.1 (port 0: a free one), over TLS when given an SSLContext, and prints
nothing unless given an `echo` (`make run` passes print).

    with WebhookReceiver() as receiver:
        url = receiver.register("shop", "whsec_...")
        ...
        receiver.deliveries("shop")
"""

from __future__ import annotations

import argparse
import binascii
import contextlib
import json
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

MAX_BODY_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How a hook answers a verified request."""

    status: int = 200  # 410: gone; a 3xx with `location`: a redirect; any other status
    fail_first: int = 0  # answer 503 to the first N attempts of each webhook-id
    retry_after: str | None = None  # sent with a 429 or 5xx (those 503s too)
    location: str | None = None
    hang_seconds: float = 0.0  # wait this long before answering (the receiver's stop ends it)
    drip_interval_seconds: float | None = None  # send the answer's body a byte at a time


@dataclass(frozen=True, slots=True)
class Delivery:
    """One verified (or, on an unsigned hook, accepted) request."""

    hook: str
    webhook_id: str | None
    timestamp: int | None
    body: Any
    attempt: int  # 1 for the first request with this webhook-id at this hook
    status: int  # what the receiver answered
    headers: dict[str, str]


@dataclass
class _Hook:
    secrets: tuple[str, ...]  # empty: unsigned
    behaviour: Behaviour


class WebhookReceiver:
    """Hooks at `/hooks/<name>`; thread-safe; a context manager that starts and stops it."""

    def __init__(
        self,
        *,
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._hooks: dict[str, _Hook] = {}
        self._deliveries: list[Delivery] = []
        self._attempts: dict[tuple[str, str], int] = {}
        self._rejected = 0
        self._unknown = 0
        self._echo = echo
        self._ssl_context = ssl_context
        self._server = _Server(("127.0.0.1", port), _Handler, self)
        self._thread: threading.Thread | None = None

    # --- set-up ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, name: str) -> str:
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}/hooks/{name}"

    def register(self, name: str, *secrets: str, behaviour: Behaviour | None = None) -> str:
        """A signed hook verified under any of `secrets` (`whsec_…`); its URL."""
        if not secrets:
            raise ValueError("A signed hook needs at least one secret (register_unsigned).")
        for secret in secrets:
            Webhook(secret)  # a malformed secret fails here, not on the first request
        return self._add(name, tuple(secrets), behaviour or Behaviour())

    def register_unsigned(self, name: str, *, behaviour: Behaviour | None = None) -> str:
        """A hook that records without verifying (a Slack incoming webhook's stand-in)."""
        return self._add(name, (), behaviour or Behaviour())

    def set_behaviour(self, name: str, behaviour: Behaviour) -> None:
        with self._lock:
            self._hooks[name].behaviour = behaviour

    def _add(self, name: str, secrets: tuple[str, ...], behaviour: Behaviour) -> str:
        if not name or "/" in name:
            raise ValueError(f"A hook's name is one path segment, not {name!r}.")
        with self._lock:
            self._hooks[name] = _Hook(secrets, behaviour)
        return self.url(name)

    # --- what arrived ------------------------------------------------------------------

    def deliveries(self, name: str | None = None) -> list[Delivery]:
        with self._lock:
            return [d for d in self._deliveries if name is None or d.hook == name]

    @property
    def rejected(self) -> int:
        """Requests to a signed hook that failed verification."""
        with self._lock:
            return self._rejected

    @property
    def unknown(self) -> int:
        """Requests to a path no hook is registered at."""
        with self._lock:
            return self._unknown

    # --- running -----------------------------------------------------------------------

    def start(self) -> WebhookReceiver:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="webhook-receiver",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes hanging and dripping answers
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- the handler's side ------------------------------------------------------------

    def _receive(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Behaviour]:
        """Verify and record a request; the status to answer and the behaviour to answer by."""
        path = urlsplit(path).path
        name = path.removeprefix("/hooks/") if path.startswith("/hooks/") else None
        with self._lock:
            hook = self._hooks.get(name) if name is not None else None
            if hook is None or name is None:
                self._unknown += 1
                return 404, Behaviour(status=404)
            secrets, behaviour = hook.secrets, hook.behaviour
        parsed = _verified(body, headers, secrets)
        if parsed is _REJECTED:
            with self._lock:
                self._rejected += 1
            return 401, Behaviour(status=401)
        webhook_id = headers.get("webhook-id")
        with self._lock:
            attempt = self._attempts.get((name, webhook_id or ""), 0) + 1
            self._attempts[(name, webhook_id or "")] = attempt
            status = 503 if attempt <= behaviour.fail_first else behaviour.status
            delivery = Delivery(
                hook=name,
                webhook_id=webhook_id,
                timestamp=_integer(headers.get("webhook-timestamp")),
                body=parsed,
                attempt=attempt,
                status=status,
                headers=headers,
            )
            self._deliveries.append(delivery)
        if self._echo is not None:
            self._echo(_describe(delivery))
        return status, behaviour

    def _wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; False when the receiver is stopping."""
        return not self._stopping.wait(seconds)


_REJECTED = object()


def _verified(body: bytes, headers: dict[str, str], secrets: tuple[str, ...]) -> Any:
    if not secrets:
        try:
            return json.loads(body)
        except ValueError:
            return body.decode("utf-8", "replace")
    for secret in secrets:
        try:
            return Webhook(secret).verify(body, headers)
        # A malformed signature header makes the package raise plain ValueErrors too.
        except (WebhookVerificationError, ValueError, binascii.Error, UnicodeDecodeError):
            continue
    return _REJECTED


def _integer(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _answer(status: int, behaviour: Behaviour) -> bytes:
    body = json.dumps({"status": status}).encode()
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Answer"
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    if behaviour.retry_after is not None and (status == 429 or status >= 500):
        headers["Retry-After"] = behaviour.retry_after
    if behaviour.location is not None and 300 <= status < 400:
        headers["Location"] = behaviour.location
    headers["Connection"] = "close"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _describe(delivery: Delivery) -> str:
    """One line: what arrived and what it was answered (the body is in `deliveries()`)."""
    body = delivery.body if isinstance(delivery.body, dict) else {}
    found = body.get("data")
    data: dict[str, Any] = found if isinstance(found, dict) else {}
    about = data.get("title") or (f"{data['count']} notifications" if "count" in data else "")
    checked = "signature verified" if delivery.timestamp is not None else "unsigned"
    return (
        f"  webhook {delivery.hook}: {body.get('type', '?')} {about!s:.60} "
        f"(webhook-id {delivery.webhook_id}, attempt {delivery.attempt}, {checked})"
        f" -> {delivery.status}"
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        receiver: WebhookReceiver,
    ) -> None:
        super().__init__(address, handler)
        self.receiver = receiver

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS is set up in the request's own thread, so a slow handshake blocks nobody else.
        context = self.receiver._ssl_context
        if context is not None:
            try:
                request = context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return  # the client refused our certificate, or went away
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away mid-answer: nothing to print


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        receiver = self.server.receiver
        length = _integer(self.headers.get("Content-Length")) or 0
        body = self.rfile.read(min(length, MAX_BODY_BYTES))
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, behaviour = receiver._receive(self.path, body, headers)
        if behaviour.hang_seconds and not receiver._wait(behaviour.hang_seconds):
            return
        try:
            answer = _answer(status, behaviour)
            if behaviour.drip_interval_seconds is None:
                self.wfile.write(answer)
                return
            # The whole answer, status line first, a byte at a time: no per-read timeout ends it.
            for byte in answer:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                if not receiver._wait(behaviour.drip_interval_seconds):
                    return
        except (TimeoutError, BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the sender gave up (its deadline)
        finally:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # silent: `echo` tells what arrived


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--hook",
        action="append",
        default=[],
        metavar="NAME=WHSEC[,WHSEC]",
        help="a signed hook at /hooks/NAME (NAME alone: unsigned)",
    )
    arguments = parser.parse_args(argv)
    receiver = WebhookReceiver(port=arguments.port, echo=lambda line: print(line, flush=True))
    for spec in arguments.hook:
        name, _, secrets = spec.partition("=")
        if secrets:
            receiver.register(name, *secrets.split(","))
        else:
            receiver.register_unsigned(name)
    with receiver:
        for name in receiver._hooks:
            print(f"listening: {receiver.url(name)}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
