"""The child process of the built-artifact tests and `make coldstart`: one Lambda container.

Started as `python3.13 -I -S lambda_probe.py`: no current folder, no PYTHONPATH, no
site-packages, so the only importable code is the standard library and the folders the parent
lists, which mirror Lambda's /var/task, /opt/python and /var/runtime (boto3). Standard library
only: nothing of the repository is importable here on purpose.

Reads on stdin: {"sys_path", "handler", "events", "function_name", "memory_mb",
"timeout_seconds", "watch_modules"}. Imports the handler once (the cold start's init), then
invokes it with each event in turn, as one container would. The function's own stdout (logs,
EMF) goes to stderr; stdout carries one JSON line:
{"import_ms", "invocations": [{"ms", "response"} | {"ms", "error"}], "loaded": {module: bool},
"origins": {top-level package: file}, "peak_rss_mb"}.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time
import traceback
import uuid
from typing import Any


class Context:
    """The attributes of Lambda's context object that Powertools reads.

    (Also in lambda_bootstrap.py: each child script is standalone on purpose, so that nothing
    of the repository is importable next to the function under test.)
    """

    def __init__(self, name: str, memory_mb: int, timeout_seconds: int) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = f"probe/[$LATEST]{self.aws_request_id[:8]}"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _peak_rss_mb() -> float:
    """This process's own memory high-water mark, as Lambda's "Max Memory Used" counts it.

    Linux keeps ru_maxrss across execve and subprocess starts children with vfork, so
    ru_maxrss would report the parent's peak; VmHWM belongs to this address space alone.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def _origins() -> dict[str, str]:
    """Where every loaded top-level package came from (the standard library left out)."""
    stdlib = set(sys.stdlib_module_names)
    found: dict[str, str] = {}
    for name, module in list(sys.modules.items()):
        top = name.partition(".")[0]
        if top in stdlib or top in found or top.startswith("_") or name != top:
            continue
        origin = getattr(module, "__file__", None)
        if origin:
            found[top] = origin
    return found


def main() -> int:
    request: dict[str, Any] = json.load(sys.stdin)
    answer_stream = sys.stdout
    sys.stdout = sys.stderr  # before any import, so loggers bind to stderr
    sys.path[:0] = request["sys_path"]
    module_name, _, function_name = request["handler"].rpartition(".")
    started = time.perf_counter()
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as error:  # noqa: BLE001 (an import error is what this run is for)
        traceback.print_exc()
        answer_stream.write(json.dumps({"import_error": f"{type(error).__name__}: {error}"}))
        answer_stream.write("\n")
        return 1
    import_ms = _elapsed_ms(started)
    invocations: list[dict[str, Any]] = []
    for event in request["events"]:
        context = Context(
            request["function_name"], request["memory_mb"], request["timeout_seconds"]
        )
        started = time.perf_counter()
        try:
            response = handler(event, context)
        except Exception as error:  # noqa: BLE001 (reported as Lambda reports it)
            traceback.print_exc()
            invocations.append(
                {"ms": _elapsed_ms(started), "error": f"{type(error).__name__}: {error}"}
            )
            continue
        invocations.append({"ms": _elapsed_ms(started), "response": response})
    result = {
        "import_ms": import_ms,
        "invocations": invocations,
        "loaded": {name: name in sys.modules for name in request["watch_modules"]},
        "origins": _origins(),
        "peak_rss_mb": _peak_rss_mb(),
    }
    answer_stream.write(json.dumps(result, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
