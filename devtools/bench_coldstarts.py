"""Every template function's import and first invocation in a fresh `python -I` process (the
monitor's also gives its peak resident memory)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from devtools.bench_availability import EVENTS_DIR
from devtools.bench_data import bench_id
from devtools.bench_services import BenchServices
from devtools.template import FunctionSpec, Template

COLDSTART_CHILD = Path(__file__).resolve().parent / "lambda_probe.py"


def _http_event_for(spec: FunctionSpec) -> dict[str, Any]:
    """The function's committed event, its path ids swapped for bench catalogue ids."""
    from devtools.apigw import http_api_event

    committed = EVENTS_DIR / f"{spec.code_dir.name}.json"
    if committed.exists():
        event: dict[str, Any] = json.loads(committed.read_text())
    else:
        route = spec.routes[0]
        event = http_api_event(route.method, route.path, route.path)
    parameters = event.get("pathParameters") or {}
    for name, old in list(parameters.items()):
        new = str(bench_id("product" if "product" in name.lower() else "package", 1))
        parameters[name] = new
        event["rawPath"] = str(event.get("rawPath", "")).replace(old, new)
        http = event.get("requestContext", {}).get("http", {})
        if "path" in http:
            http["path"] = str(http["path"]).replace(old, new)
    return event


def event_for(spec: FunctionSpec) -> dict[str, Any]:
    """A scheduled function gets its EventBridge event (the path that runs the monitor)."""
    from devtools.apigw import scheduled_event

    if spec.schedules:
        return scheduled_event(spec.schedules[0].rule_arn)
    return _http_event_for(spec)


def _coldstart_order(spec: FunctionSpec) -> tuple[bool, bool, str]:
    # Scheduled (the monitor, whose memory is measured with the cooldown warm) first;
    # functions that delete something (clearing cooldowns) last.
    deletes = any(route.method == "DELETE" for route in spec.routes)
    return (not spec.schedules, deletes, spec.logical_id)


def _outcome(invocation: dict[str, Any]) -> str:
    if "error" in invocation:
        return f"raised {invocation['error'].split(':')[0]}"
    result = invocation["response"]
    if isinstance(result, dict) and "statusCode" in result:
        return f"HTTP {result['statusCode']}"
    if isinstance(result, dict) and "success" in result:
        return "success" if result["success"] else "failure"
    return type(result).__name__


def measure_cold_starts(template: Template, services: BenchServices) -> dict[str, Any]:
    """Every function: import and first invocation in a fresh `python -I` process."""
    from devtools.lambda_runtime import runtime_variables

    figures: dict[str, Any] = {}
    for spec in sorted(template.functions.values(), key=_coldstart_order):
        request = {
            "sys_path": [str(spec.code_dir), *(str(folder) for folder in spec.layer_dirs)],
            "handler": f"{spec.handler_module}.{spec.handler_function}",
            "events": [event_for(spec)],
            "function_name": spec.logical_id,
            "memory_mb": spec.memory_mb,
            "timeout_seconds": spec.timeout_seconds,
            "watch_modules": [],
        }
        environment = {**os.environ, **services.environment, **runtime_variables(spec)}
        completed = subprocess.run(
            [sys.executable, "-I", str(COLDSTART_CHILD)],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            env=environment,
            cwd=spec.code_dir,
            check=False,
        )
        lines = completed.stdout.strip().splitlines()
        if completed.returncode != 0 or not lines:
            tail = completed.stderr.strip().splitlines()[-1:] or ["no output"]
            figures[spec.logical_id] = {"error": tail[0][:200]}
            continue
        probe = json.loads(lines[-1])
        [first] = probe["invocations"]
        figures[spec.logical_id] = {
            "import_ms": probe["import_ms"],
            "invoke_ms": first["ms"],
            "outcome": _outcome(first),
            "peak_rss_mb": probe["peak_rss_mb"],
            "scheduled": bool(spec.schedules),
        }
    return figures
