"""The local HTTP server itself, in-process with a stand-in for the functions: its listen
backlog takes a burst of connections, and its access log never prints a query string (the
cron route accepts `?token=<CRON_SECRET>`; the deployed access log has no query either)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.local_api import LocalApiServer, serve_in_thread, without_query
from devtools.template import FunctionSpec, load_template
from tests.support.local_api import signing_key_for_tests

SECRET = "cron-secret-that-must-not-be-logged"


def answer_ok(_: FunctionSpec, __: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}


class _Server(LocalApiServer):
    serving = False

    def serve(self) -> None:
        serve_in_thread(self)
        self.serving = True


@pytest.fixture
def server() -> Iterator[_Server]:
    """Bound and listening, not yet accepting: the test decides when it serves."""
    server = _Server(
        ("127.0.0.1", 0), load_template(), answer_ok, signing_key=signing_key_for_tests()
    )
    yield server
    if server.serving:  # shutdown() waits for a serve_forever that must have started
        server.shutdown()
    server.server_close()


def _get(sock: socket.socket, target: str) -> None:
    sock.sendall(f"GET {target} HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n".encode())


def _status(sock: socket.socket) -> str:
    received = b""
    while b"\r\n" not in received:
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    return received.split(b"\r\n", 1)[0].decode()


def test_a_burst_of_connections_waiting_to_be_accepted_all_get_answers(
    server: _Server,
) -> None:
    # 32 clients connect before the server accepts any: each handshake must complete in the
    # listen queue (the old backlog of 5 dropped every SYN beyond it).
    host, port = server.server_address[:2]
    clients = []
    try:
        for _ in range(32):
            sock = socket.create_connection((str(host), int(port)), timeout=0.5)
            sock.settimeout(10)
            clients.append(sock)
        for sock in clients:
            _get(sock, "/api/health")
        server.serve()
        statuses = [_status(sock) for sock in clients]
    finally:
        for sock in clients:
            sock.close()

    assert statuses == ["HTTP/1.1 200 OK"] * 32


def test_the_access_log_leaves_the_query_string_out(
    server: _Server, capfd: pytest.CaptureFixture[str]
) -> None:
    server.serve()
    host, port = server.server_address[:2]
    targets = [f"/api/cron/inventory-monitor?token={SECRET}", f"/api/health?token={SECRET}"]
    for target in targets:
        with socket.create_connection((str(host), int(port)), timeout=10) as sock:
            _get(sock, target)
            assert _status(sock).startswith("HTTP/1.1 ")
    # A request line http.server cannot parse is logged with the line it got. (A handler logs
    # before its status line goes out, so every line is written by the time an answer came.)
    with socket.create_connection((str(host), int(port)), timeout=10) as sock:
        sock.sendall(f"GET /api/health?token={SECRET} extra HTTP/1.1\r\n\r\n".encode())
        assert _status(sock).startswith("HTTP/1.1 400 ")

    log = capfd.readouterr().err
    assert '"GET /api/cron/inventory-monitor HTTP/1.1" 200' in log
    assert '"GET /api/health HTTP/1.1" 200' in log
    assert "Bad request syntax ('GET /api/health extra HTTP/1.1')" in log
    assert SECRET not in log
    assert "token=" not in log


def test_without_query_cuts_each_target_at_its_query() -> None:
    assert without_query('"GET /a?token=x HTTP/1.1" 200 -') == '"GET /a HTTP/1.1" 200 -'
    assert without_query("code 400, message Bad request syntax ('GET /a?t='x' y')") == (
        "code 400, message Bad request syntax ('GET /a y')"
    )
    assert without_query('"GET /plain HTTP/1.1" 200 -') == '"GET /plain HTTP/1.1" 200 -'
