"""Child process of `make bench`: one function's import and first invocation, timed.

Started with `python -I` like devtools/lambda_bootstrap.py (only the function's code folder,
its layers and the installed packages are importable, as in /var/task + /opt/python) and
standard library only. Reads the same request JSON on stdin; the function's own output goes to
stderr and one JSON line of figures to stdout: import_ms, invoke_ms, outcome, peak_rss_mb
(the process's own high-water mark, VmHWM, imports included, as Lambda's "Max Memory Used"
counts it).
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time
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


def _outcome(result: Any) -> str:
    if isinstance(result, dict) and "statusCode" in result:
        return f"HTTP {result['statusCode']}"
    if isinstance(result, dict) and "success" in result:
        return "success" if result["success"] else "failure"
    return type(result).__name__


def _peak_rss_mb() -> float:
    # Linux keeps ru_maxrss across execve, and subprocess starts this child with vfork: it
    # would report the parent's (the bench's) high-water mark. VmHWM belongs to this
    # process's own address space, the one Lambda would measure.
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def main() -> int:
    request: dict[str, Any] = json.load(sys.stdin)
    figures_stream = sys.stdout
    sys.stdout = sys.stderr  # before any import, so loggers bind to stderr
    sys.path[:0] = [request["code_dir"], *request["layer_dirs"]]
    module_name, _, function_name = request["handler"].rpartition(".")
    started = time.perf_counter()
    handler = getattr(importlib.import_module(module_name), function_name)
    imported = time.perf_counter()
    context = Context(request["function_name"], request["memory_mb"], request["timeout_seconds"])
    try:
        result = handler(request["event"], context)
        outcome = _outcome(result)
    except Exception as error:  # noqa: BLE001 (reported: the figures still matter)
        outcome = f"raised {type(error).__name__}"
    finished = time.perf_counter()
    figures = {
        "import_ms": round((imported - started) * 1000, 1),
        "invoke_ms": round((finished - imported) * 1000, 1),
        "outcome": outcome,
        "peak_rss_mb": _peak_rss_mb(),
    }
    figures_stream.write(json.dumps(figures) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
