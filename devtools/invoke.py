"""One invocation of a template function, the way `sam local invoke` does it, without Docker.

Usage: python -m devtools.invoke <LogicalId> events/<file>.json

The handler, code folder and layers come from template.yaml; the function runs in a fresh
Python process (so no other function's `app` module is in sight) with its template environment,
template values that name resources replaced by local ones. DATABASE_URL,
AWS_ENDPOINT_URL_DYNAMODB, COOLDOWN_TABLE_NAME and CRON_SECRET come from the caller's
environment, else from a running `make run`, else from embedded PostgreSQL (.local/pgdata) and
a moto server started for this invocation and stopped after it. The function's logs go to
stderr, the response to stdout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from devtools.lambda_runtime import runtime_variables
from devtools.local_services import LocalServices, start_services
from devtools.template import FunctionSpec, Template, load_template

BOOTSTRAP = Path(__file__).resolve().parent / "lambda_bootstrap.py"


def function_environment(
    template: Template, spec: FunctionSpec, services: LocalServices
) -> dict[str, str]:
    """Template environment (resolved locally), local connections, the Lambda runtime's own."""
    return {
        **template.local_environment(spec, services.resources),
        **services.environment(template),
        **runtime_variables(spec),
    }


def invoke_in_subprocess(
    spec: FunctionSpec, event: dict[str, Any], environment: dict[str, str]
) -> tuple[int, Any]:
    """Run the handler in a fresh interpreter; (exit status, response or Lambda error)."""
    request = {
        "code_dir": str(spec.code_dir),
        "layer_dirs": [str(folder) for folder in spec.layer_dirs],
        "handler": f"{spec.handler_module}.{spec.handler_function}",
        "event": event,
        "function_name": spec.logical_id,
        "memory_mb": spec.memory_mb,
        "timeout_seconds": spec.timeout_seconds,
    }
    completed = subprocess.run(
        [sys.executable, "-I", str(BOOTSTRAP)],
        input=json.dumps(request),
        stdout=subprocess.PIPE,
        stderr=None,  # the function's logs stream straight to our stderr
        text=True,
        env={**os.environ, **environment},
        cwd=spec.code_dir,
        check=False,
    )
    lines = completed.stdout.strip().splitlines()
    if not lines:
        return completed.returncode or 1, {"errorMessage": "the function wrote no response"}
    return completed.returncode, json.loads(lines[-1])


def main(argv: list[str]) -> int:
    template = load_template()
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        print("functions:", ", ".join(sorted(template.functions)), file=sys.stderr)
        return 2
    logical_id, event_file = argv[1], Path(argv[2])
    spec = template.functions.get(logical_id)
    if spec is None:
        print(f"No function {logical_id!r} in template.yaml.", file=sys.stderr)
        print("functions:", ", ".join(sorted(template.functions)), file=sys.stderr)
        return 2
    try:
        event = json.loads(event_file.read_text())
    except (OSError, ValueError) as error:
        print(f"Cannot read the event {event_file}: {error}", file=sys.stderr)
        return 2
    services = start_services(template, provision_external=False)
    try:
        for note in services.notes:
            print(f"[invoke] {note}", file=sys.stderr)
        status, response = invoke_in_subprocess(
            spec, event, function_environment(template, spec, services)
        )
    finally:
        services.stop()
    print(json.dumps(response, indent=2))
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
