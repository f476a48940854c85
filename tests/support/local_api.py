"""The local API server (as `make run` serves it) started in-process against test services."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from devtools.lambda_runtime import InProcessFunctions
from devtools.local_api import LocalApiServer, serve_in_thread
from devtools.template import FunctionSpec, load_template

CRON_TOKEN = "local-test-cron-token"


@contextmanager
def running_local_api(connections: Mapping[str, str]) -> Iterator[LocalApiServer]:
    """The template's functions behind a LocalApiServer on a free port of 127.0.0.1."""
    template = load_template()

    def environment_for(spec: FunctionSpec) -> dict[str, str]:
        return {**template.local_environment(spec, {}), **connections}

    functions = InProcessFunctions(environment_for)
    server = LocalApiServer(("127.0.0.1", 0), template, functions.invoke, quiet=True)
    thread = serve_in_thread(server)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def request(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """(status, headers, parsed JSON body) of one request; HTTP errors are answers too."""
    prepared = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(prepared, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")
