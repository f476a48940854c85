"""One webhook POST (SPEC §10), to an address the SSRF rule allows, within one deadline.

* The URL's host is resolved at send time, and every address it resolves to must be public
  (`rules/public_addresses.is_public`, the rule the subscription check applies) unless private
  targets are allowed: a name that now resolves to a private, loopback or link-local address
  is REFUSED, never sent to.
* The connection is pinned: urllib3 is handed the checked IP address itself, so no second
  lookup happens that a rebinding DNS server could answer differently. TLS still speaks to the
  URL's host name: it is the SNI name and the name the certificate is verified against
  (`server_hostname`; the system's trust store, or `ca_certs`), and the Host header names it.
* One deadline bounds the whole attempt (resolution, connect, TLS, send, read). Socket timeouts
  are per operation, so a receiver that accepts and then drips a byte at a time would outlive
  them: a timer shuts the attempt's socket down when the time is up.
* Redirects are never followed (a 3xx is a RETRY saying so); at most MAX_RESPONSE_BYTES of the
  answer are read, and neither the answer nor the request's headers (the signature) ever go
  into an error text.
* Plain `http://` only when private targets are allowed (local development's receivers).

Classification: 2xx DELIVERED; 410 GONE; 429 and 5xx RETRY with the Retry-After they send
(delta-seconds or an HTTP-date); any other status RETRY with the status in the error (receivers
misconfigure and then fix it); connection, TLS and timeout failures RETRY.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from inventory.rules.delivery_schedule import parse_retry_after
from inventory.rules.delivery_types import Attempt, AttemptResult
from inventory.rules.public_addresses import Resolver, is_public

if TYPE_CHECKING:
    from urllib3.connection import HTTPConnection

MAX_RESPONSE_BYTES = 4096
USER_AGENT = "inventory-automation-webhooks/1"


@dataclass(frozen=True, slots=True)
class _Target:
    secure: bool
    host: str  # as urlsplit lowers it, without brackets
    port: int
    host_header: str
    path: str


def post_webhook(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout_seconds: float = 15,
    allow_private: bool,
    resolve: Resolver | None = None,
    ca_certs: str | None = None,
) -> Attempt:
    """POST `body` with `headers` to `url` once. `resolve` defaults to `resolve_host`;
    `ca_certs` (a PEM file) replaces the system's trust
    store, for a private CA or a test's."""
    target = _target(url, allow_private=allow_private)
    if isinstance(target, Attempt):
        return target
    with _Deadline(timeout_seconds) as deadline:
        addresses = _addresses(
            target, allow_private=allow_private, resolve=resolve, deadline=deadline
        )
        if isinstance(addresses, Attempt):
            return addresses
        request_headers = _request_headers(target, headers)
        try:
            status, retry_after = _exchange(
                target, addresses, body, request_headers, deadline, ca_certs
            )
        except (OSError, http.client.HTTPException, _urllib3_error()) as error:
            return Attempt(AttemptResult.RETRY, _describe_failure(error, target, deadline))
    return _classify(status, retry_after)


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6), as the subscription check resolves."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _target(url: str, *, allow_private: bool) -> _Target | Attempt:
    try:
        parts = urlsplit(url)
        explicit_port = parts.port
        host = parts.hostname
        scheme = parts.scheme.lower()
    except ValueError:
        return Attempt(AttemptResult.REFUSED, "The URL cannot be read (its host or port).")
    if scheme != "https" and not (scheme == "http" and allow_private):
        return Attempt(AttemptResult.REFUSED, "Must be an https:// URL.")
    if not host or explicit_port == 0 or parts.username is not None or parts.password is not None:
        return Attempt(AttemptResult.REFUSED, "The URL has no host, port 0 or a user name.")
    try:
        ascii_host = host if ":" in host else host.encode("idna").decode("ascii")
    except UnicodeError:
        return Attempt(AttemptResult.REFUSED, "The URL's host is not a valid name.")
    secure = scheme == "https"
    port = explicit_port or (443 if secure else 80)
    named = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    host_header = named if explicit_port is None else f"{named}:{explicit_port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    # The request line is ASCII: anything else in the path or query is percent-encoded, as a
    # browser does (escapes already there stay as they are).
    path = quote(path, safe="/?&=%:@!$'()*+,;~-._[]")
    return _Target(secure, host, port, host_header, path)


# getaddrinfo cannot be interrupted: it runs here, and the attempt stops waiting for it at its
# deadline (the lookup ends on its own later; a few threads cover the batch's deliveries).
_RESOLVERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-dns")


def _resolve_by(resolve: Resolver, target: _Target, deadline: _Deadline) -> list[str] | Attempt:
    lookup = _RESOLVERS.submit(lambda: list(resolve(target.host, target.port)))
    try:
        return lookup.result(timeout=max(0.0, deadline.remaining()))
    except FutureTimeoutError:
        error = f"resolving {target.host} timed out after {deadline.seconds:g} s"
        return Attempt(AttemptResult.RETRY, error)


def _addresses(
    target: _Target, *, allow_private: bool, resolve: Resolver | None, deadline: _Deadline
) -> list[str] | Attempt:
    """The addresses to try, in the resolver's order; every one must pass the SSRF rule."""
    try:
        literal = ipaddress.ip_address(target.host)
    except ValueError:
        literal = None
    if literal is not None:
        texts, judged = [str(literal)], [literal]
    else:
        try:
            found = _resolve_by(resolve or resolve_host, target, deadline)
            if isinstance(found, Attempt):
                return found
            texts = list(dict.fromkeys(found))
            # A scope (fe80::1%eth0) stays in the address connected to, not in the one judged.
            judged = [ipaddress.ip_address(text.split("%", 1)[0]) for text in texts]
        except (OSError, UnicodeError, ValueError):
            texts = []
        if not texts:
            return Attempt(AttemptResult.RETRY, f"The host {target.host} does not resolve.")
    if not allow_private:
        for address in judged:
            if not is_public(address):
                return Attempt(
                    AttemptResult.REFUSED,
                    f"The host {target.host} now resolves to {address}, a private, loopback, "
                    "link-local or reserved address: not sent.",
                )
    return texts


def _request_headers(target: _Target, headers: Mapping[str, str]) -> dict[str, str]:
    merged = {"User-Agent": USER_AGENT, "Content-Type": "application/json"}
    lowered = {name.lower() for name in headers}
    merged = {name: value for name, value in merged.items() if name.lower() not in lowered}
    merged |= {name: value for name, value in headers.items() if name.lower() != "host"}
    # The pinned connection's own host is an IP address: the receiver is told the URL's name.
    return {"Host": target.host_header, **merged, "Connection": "close"}


def _exchange(
    target: _Target,
    addresses: list[str],
    body: bytes,
    headers: dict[str, str],
    deadline: _Deadline,
    ca_certs: str | None,
) -> tuple[int, str | None]:
    """The status and Retry-After of the first address that takes the connection."""
    from urllib3.exceptions import ConnectTimeoutError

    last_error: Exception | None = None
    for address in addresses:
        connection = _connection(target, address, deadline, ca_certs)
        try:
            try:
                connection.connect()
            except ConnectTimeoutError as error:  # NewConnectionError too: try the next one
                last_error = error
                if deadline.expired:
                    break
                continue
            connection.request(
                "POST",
                target.path,
                body=body,
                headers=headers,
                preload_content=False,
                decode_content=False,
            )
            response = connection.getresponse()
            try:
                # Read a little, so a receiver still writing is not reset mid-answer.
                response.read(MAX_RESPONSE_BYTES)
            except (OSError, http.client.HTTPException, _urllib3_error()):
                pass  # the status has arrived: it is the answer
            return response.status, response.headers.get("Retry-After")
        finally:
            connection.close()
    assert last_error is not None
    raise last_error


def _connection(
    target: _Target, address: str, deadline: _Deadline, ca_certs: str | None
) -> HTTPConnection:
    plain, secure = _connection_types()
    timeout = max(deadline.remaining(), 0.001)
    if not target.secure:
        return plain(address, target.port, timeout=timeout, deadline=deadline)
    return secure(
        address,
        target.port,
        timeout=timeout,
        deadline=deadline,
        server_hostname=target.host,  # SNI, and ssl's own hostname check against it
        cert_reqs="CERT_REQUIRED",
        ca_certs=ca_certs,
    )


@cache
def _connection_types() -> tuple[Callable[..., HTTPConnection], Callable[..., HTTPConnection]]:
    """urllib3's connections, each handing its socket to the attempt's deadline as soon as it
    exists (before TLS: a handshake can be dripped too). Built on first use: urllib3 is
    imported only by what sends webhooks."""
    from urllib3.connection import HTTPConnection, HTTPSConnection

    class Plain(HTTPConnection):
        def __init__(self, host: str, port: int, *, deadline: _Deadline, **kwargs: Any) -> None:
            super().__init__(host, port, **kwargs)
            self._deadline = deadline

        def _new_conn(self) -> socket.socket:
            return self._deadline.watch(super()._new_conn())

    class Secure(HTTPSConnection):
        def __init__(self, host: str, port: int, *, deadline: _Deadline, **kwargs: Any) -> None:
            super().__init__(host, port, **kwargs)
            self._deadline = deadline

        def _new_conn(self) -> socket.socket:
            return self._deadline.watch(super()._new_conn())

    return Plain, Secure


@cache
def _urllib3_error() -> type[Exception]:
    from urllib3.exceptions import HTTPError

    return HTTPError


def _classify(status: int, retry_after: str | None) -> Attempt:
    if 200 <= status < 300:
        return Attempt(AttemptResult.DELIVERED, status_code=status)
    if status == 410:
        return Attempt(
            AttemptResult.GONE, "HTTP 410: the receiver asks to be dropped.", status_code=status
        )
    if 300 <= status < 400:
        return Attempt(
            AttemptResult.RETRY,
            f"HTTP {status}: a redirect, not followed (the receiver must answer at its URL).",
            status_code=status,
        )
    if status == 429 or status >= 500:
        return Attempt(
            AttemptResult.RETRY,
            f"HTTP {status} from the receiver.",
            retry_after_seconds=parse_retry_after(retry_after, datetime.now(UTC)),
            status_code=status,
        )
    return Attempt(AttemptResult.RETRY, f"HTTP {status} from the receiver.", status_code=status)


def _describe_failure(error: Exception, target: _Target, deadline: _Deadline) -> str:
    """What went wrong, from the exception's type and the OS's reason: never its text of
    headers (there is none today, and nothing here would pass one on)."""
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    where = f"{target.host}:{target.port}"
    timed_out = isinstance(error, ConnectTimeoutError) and not isinstance(error, NewConnectionError)
    if deadline.expired or timed_out or isinstance(error, TimeoutError):
        return f"timed out after {deadline.seconds:g} s"
    cause = error.__cause__ or error.__context__
    if isinstance(error, NewConnectionError) and isinstance(cause, OSError):
        return f"could not connect to {where}: {cause.strerror or type(cause).__name__}"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"the TLS certificate of {target.host} is not accepted: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"TLS with {where} failed: {error.reason or type(error).__name__}"
    if isinstance(error, http.client.RemoteDisconnected | ConnectionResetError):
        return f"{where} closed the connection without an answer"
    if isinstance(error, http.client.HTTPException):
        return f"{where} answered something that is not HTTP ({type(error).__name__})"
    if isinstance(error, OSError):
        return f"the connection to {where} failed: {error.strerror or type(error).__name__}"
    return f"the connection to {where} failed: {type(error).__name__}"


class _Deadline:
    """Shuts the attempt's sockets down when its time is up, waking whatever read is blocked."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._ends_at = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._watched: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        with self._lock:
            for watched in self._watched:
                watched.close()
            self._watched.clear()

    def remaining(self) -> float:
        return self._ends_at - time.monotonic()

    def watch(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            if self.expired:
                sock.close()
                raise TimeoutError("the attempt's deadline passed")
            # A duplicate of the descriptor: TLS wrapping detaches the original object, and a
            # shutdown through either ends the one connection they share.
            self._watched.append(sock.dup())
        return sock

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for watched in self._watched:
                with contextlib.suppress(OSError):  # already closed by its end
                    watched.shutdown(socket.SHUT_RDWR)
