"""The child process of `make invoke`: one Lambda invocation, as the Python runtime does it.

Started with `python -I` (no current folder, no PYTHONPATH on sys.path), so only the function's
code folder, its layers and the installed packages are importable, as in /var/task + /opt/python.
Standard library only: nothing of the repository is importable here on purpose.

Reads {"code_dir", "handler", "layer_dirs", "event", "function_name", "memory_mb",
"timeout_seconds"} as JSON on stdin. The function's stdout (logs, EMF metrics) goes to stderr;
the response (or the error, in Lambda's errorMessage/errorType shape) is the only thing written
to stdout. Exit status 0 when the handler returned, 1 when it raised.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
import uuid
from typing import Any


class Context:
    def __init__(self, name: str, memory_mb: int, timeout_seconds: int) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = f"local/[$LATEST]{self.aws_request_id[:8]}"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> int:
    request: dict[str, Any] = json.load(sys.stdin)
    response_stream = sys.stdout
    sys.stdout = sys.stderr  # before any import, so loggers bind to stderr
    sys.path[:0] = [request["code_dir"], *request["layer_dirs"]]
    module_name, _, function_name = request["handler"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
        context = Context(
            request["function_name"], request["memory_mb"], request["timeout_seconds"]
        )
        result = handler(request["event"], context)
    except Exception as error:  # noqa: BLE001 (reported as Lambda reports an unhandled error)
        traceback.print_exc()
        failure = {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "stackTrace": traceback.format_tb(error.__traceback__),
        }
        response_stream.write(json.dumps(failure) + "\n")
        return 1
    response_stream.write(json.dumps(result, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
