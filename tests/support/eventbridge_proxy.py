"""An HTTP stand-in for EventBridge in front of moto's server: it forwards every request, keeps
what each PutEvents call carried (the entries exactly as sent: the Detail text before any
parsing), and fails chosen entries the way EventBridge does (FailedEntryCount and the entry's
ErrorCode in an HTTP 200), which moto never does for a well-formed entry.

The client under test is the production one (boto3 over HTTP, AWS_ENDPOINT_URL_EVENTS set to
`url`); only the answer to the entries told to fail is written here.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_NOT_FORWARDED = frozenset({"host", "content-length", "connection", "accept-encoding"})


class EventBridgeProxy:
    def __init__(self, upstream_url: str) -> None:
        self._upstream = upstream_url.rstrip("/")
        self._lock = threading.Lock()
        self._failing: dict[str, tuple[str, str]] = {}  # marker in a Detail -> code, message
        self.calls: list[list[dict[str, Any]]] = []  # each PutEvents call's entries
        # Run after each PutEvents call's answer is made, before it is sent back.
        self.after_put_events: Callable[[], object] | None = None
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED}
                if self.headers.get("X-Amz-Target", "").endswith(".PutEvents"):
                    status, answer = proxy._put_events(body, headers)
                    content_type = "application/x-amz-json-1.1"
                else:
                    status, answer, content_type = proxy._forward(self.path, body, headers)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def fail_entries(
        self, marker: str, code: str = "ThrottlingException", message: str = "Rate exceeded"
    ) -> None:
        """Answer every later entry whose Detail contains `marker` with this error."""
        with self._lock:
            self._failing[marker] = (code, message)

    def heal(self) -> None:
        with self._lock:
            self._failing.clear()

    def sent_details(self) -> list[str]:
        """The Detail text of every entry of every call so far, in order."""
        return [entry["Detail"] for call in self.calls for entry in call]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _failure(self, entry: dict[str, Any]) -> tuple[str, str] | None:
        with self._lock:
            detail = str(entry.get("Detail", ""))
            return next((f for marker, f in self._failing.items() if marker in detail), None)

    def _put_events(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        entries: list[dict[str, Any]] = json.loads(body)["Entries"]
        with self._lock:
            self.calls.append(entries)
        failures = [self._failure(entry) for entry in entries]
        forwarded = [entry for entry, failure in zip(entries, failures, strict=True) if not failure]
        answers: list[dict[str, Any]] = []
        if forwarded:
            payload = json.dumps({"Entries": forwarded}).encode()
            status, answer, _ = self._forward("/", payload, headers)
            if status != 200:  # the call failed as a whole: EventBridge's answer, as it is
                return status, answer
            answers = json.loads(answer)["Entries"]
        taken = iter(answers)
        results = [
            next(taken)
            if failure is None
            else {"ErrorCode": failure[0], "ErrorMessage": failure[1]}
            for failure in failures
        ]
        failed = sum(1 for result in results if "ErrorCode" in result)
        if self.after_put_events is not None:
            self.after_put_events()
        return 200, json.dumps({"FailedEntryCount": failed, "Entries": results}).encode()

    def _forward(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, str]:
        request = urllib.request.Request(
            self._upstream + path, data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read(), response.headers["Content-Type"]
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers.get("Content-Type", "")
