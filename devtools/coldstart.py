"""Cold-start figures of the built functions: `make coldstart` (figures, not pass/fail).

Usage: python -m devtools.coldstart [--runs N]

Builds the functions for this machine (devtools.built_artifacts), starts (or attaches to) the
local PostgreSQL with the demo bar and moto's DynamoDB, then for every function starts N fresh
`python3.13 -I -S` containers laid out as Lambda lays them out. Each imports the handler (the
init phase), answers the function's events/ file (the first, cold invocation) and answers it
again (warm). Prints the medians as a Markdown table, with whether the AWS SDK was loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path
from typing import Any

from devtools.built_artifacts import (
    BuildUnavailableError,
    build_for_host,
    built_template,
    find_lambda_python,
    probe,
    runtime_dir,
    runtime_environment,
)
from devtools.local_services import start_services
from devtools.template import ROOT, FunctionSpec, Template, load_template

# What events/cron_inventory_monitor.json sends; a local token, not a secret.
CRON_TOKEN = "local-dev-cron-token"  # noqa: S105


def events_by_function(template: Template) -> dict[str, tuple[Path, dict[str, Any]]]:
    """One events/ file per function (the first by name), keyed by logical id."""
    chosen: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in sorted((ROOT / "events").glob("*.json")):
        event: dict[str, Any] = json.loads(path.read_text())
        if "routeKey" in event:
            spec = template.routes.get(event["routeKey"])
            targets = [spec] if spec else []
        else:
            targets = template.scheduled_functions
        for target in targets:
            chosen.setdefault(target.logical_id, (path, event))
    return chosen


def secret_environment(environment: dict[str, str], moto_endpoint: str) -> dict[str, str]:
    """DATABASE_URL moved into a Secrets Manager secret on the moto server, as in AWS."""
    import boto3

    client = boto3.client(
        "secretsmanager",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 (moto accepts anything)
    )
    arn = client.create_secret(
        Name=f"coldstart-database-{os.getpid()}", SecretString=environment["DATABASE_URL"]
    )["ARN"]
    moved = {name: value for name, value in environment.items() if name != "DATABASE_URL"}
    return {**moved, "DATABASE_SECRET_ARN": arn, "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_endpoint}


def machine_description() -> str:
    """CPU model and count, e.g. 'x86_64, 8 x Intel(R) Xeon(R) ...'."""
    model = platform.processor() or ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{platform.machine()}, {os.cpu_count()} x {model or 'unknown CPU'}"


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1) if values else float("nan")


def measure(
    python: Path,
    spec: FunctionSpec,
    event: dict[str, Any],
    environment: dict[str, str],
    runtime: Path,
    runs: int,
) -> dict[str, Any]:
    imports, firsts, warms = [], [], []
    sdk_loaded = False
    for _ in range(runs):
        result = probe(python, spec, [event, event], environment, runtime=runtime)
        if result.import_error or len(result.invocations) != 2:
            raise RuntimeError(f"{spec.logical_id} failed: {result.import_error}\n{result.logs}")
        imports.append(float(result.import_ms or 0))
        firsts.append(float(result.invocations[0]["ms"]))
        warms.append(float(result.invocations[1]["ms"]))
        sdk_loaded = sdk_loaded or result.loaded.get("boto3", False)
    return {
        "import_ms": _median(imports),
        "first_ms": _median(firsts),
        "warm_ms": _median(warms),
        "cold_total_ms": _median([i + f for i, f in zip(imports, firsts, strict=True)]),
        "boto3": sdk_loaded,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh containers per function")
    parser.add_argument(
        "--database-secret",
        action="store_true",
        help="read the database URL from (moto's) Secrets Manager, as deployed, not DATABASE_URL",
    )
    arguments = parser.parse_args(argv[1:])
    python = find_lambda_python()
    try:
        build_dir = build_for_host()
    except BuildUnavailableError as reason:
        print(f"Cannot build: {reason}", file=sys.stderr)
        return 2
    assert python is not None
    built = built_template(build_dir)
    runtime = runtime_dir()
    services = start_services(load_template(), provision_external=False)
    try:
        shared = {
            **services.environment(load_template()),
            "CRON_SECRET": CRON_TOKEN,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
        }
        if arguments.database_secret:
            shared = secret_environment(shared, services.dynamodb_endpoint)
        rows = []
        for logical_id, (path, event) in sorted(events_by_function(built).items()):
            spec = built.functions[logical_id]
            environment = {
                **runtime_environment(spec),
                **built.local_environment(spec, services.resources),
                **shared,
            }
            figures = measure(python, spec, event, environment, runtime, arguments.runs)
            rows.append((logical_id, spec.memory_mb, path.name, figures))
            print(f"[coldstart] {logical_id}: {figures}", file=sys.stderr)
    finally:
        services.stop()
    print(
        f"Built artifacts, {arguments.runs} fresh containers per function, medians; "
        f"{machine_description()}; Python {python.parent.parent.name}; "
        "local PostgreSQL with the demo bar, moto's DynamoDB; database URL from "
        + ("(moto's) Secrets Manager." if arguments.database_secret else "DATABASE_URL.")
    )
    print()
    print("| function | memory (MB) | event | import (ms) | first call (ms) | cold total (ms) "
          "| warm call (ms) | boto3 loaded |")  # fmt: skip
    print("|---|---:|---|---:|---:|---:|---:|---|")
    for logical_id, memory, event_name, figures in rows:
        print(
            f"| {logical_id} | {memory} | {event_name} | {figures['import_ms']} "
            f"| {figures['first_ms']} | {figures['cold_total_ms']} | {figures['warm_ms']} "
            f"| {'yes' if figures['boto3'] else 'no'} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
