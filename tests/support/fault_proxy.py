"""A TCP proxy in front of a real server that can lose one answer on its way back.

The fault the store must survive: the server did the work (a conditional PutItem landed) but
its answer never reached the client, which then retries. The proxy forwards bytes both ways;
once armed with a marker, it passes the next request containing that marker to the server
and then closes the client's connection instead of sending the server's answer back.
Requests are not pipelined by botocore, so the next bytes from the server after a marked
request are that request's answer.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit

_CHUNK = 65536


class AnswerDroppingProxy:
    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._lock = threading.Lock()
        self._marker: bytes | None = None
        self._drops_left = 0
        self.dropped = 0  # answers lost so far
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def drop_answers(self, marker: bytes, times: int = 1) -> None:
        """Lose the answers to the next `times` requests whose bytes contain `marker`."""
        with self._lock:
            self._marker, self._drops_left = marker, times

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream)
            doomed = threading.Event()  # the answer in flight on this connection is lost
            threading.Thread(
                target=self._requests, args=(client, upstream, doomed), daemon=True
            ).start()
            threading.Thread(
                target=self._answers, args=(upstream, client, doomed), daemon=True
            ).start()

    def _requests(
        self, client: socket.socket, upstream: socket.socket, doomed: threading.Event
    ) -> None:
        while data := _receive(client):
            with self._lock:
                if self._marker is not None and self._marker in data and self._drops_left > 0:
                    self._drops_left -= 1
                    doomed.set()
            try:
                upstream.sendall(data)
            except OSError:
                break
        _close(upstream)

    def _answers(
        self, upstream: socket.socket, client: socket.socket, doomed: threading.Event
    ) -> None:
        while data := _receive(upstream):
            if doomed.is_set():
                with self._lock:
                    self.dropped += 1
                break  # the server answered; the client never hears it
            try:
                client.sendall(data)
            except OSError:
                break
        _close(client)
        _close(upstream)


def _receive(connection: socket.socket) -> bytes:
    try:
        return connection.recv(_CHUNK)
    except OSError:
        return b""


def _close(connection: socket.socket) -> None:
    with suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()


@contextmanager
def answer_dropping_proxy(upstream_url: str) -> Iterator[AnswerDroppingProxy]:
    proxy = AnswerDroppingProxy(upstream_url)
    try:
        yield proxy
    finally:
        proxy.close()
