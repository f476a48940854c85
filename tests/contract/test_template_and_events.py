"""template.yaml against the events/ files, and SAM's own linter."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from devtools.template import ROOT, load_template

EVENTS = sorted((ROOT / "events").glob("*.json"))


def _event(path: Path) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(path.read_text())
    return event


def _functions_for(event: dict[str, Any]) -> set[str]:
    """Logical ids of the functions this event would reach."""
    template = load_template()
    if "routeKey" in event:
        spec = template.routes.get(event["routeKey"])
        return {spec.logical_id} if spec else set()
    if event.get("source") == "aws.events":
        return {spec.logical_id for spec in template.scheduled_functions}
    records = event.get("Records") or []
    if records and all(record.get("eventSource") == "aws:sqs" for record in records):
        return _sqs_consumers({record["eventSourceARN"] for record in records})
    return set()


def _sqs_consumers(queue_arns: set[str]) -> set[str]:
    """Functions with an SQS event on a queue the ARNs name: CloudFormation names a queue
    <stack>-<logical id>-<suffix>."""
    found = set()
    for logical_id, resource in load_template().raw["Resources"].items():
        for source in ((resource.get("Properties") or {}).get("Events") or {}).values():
            queue = (source.get("Properties") or {}).get("Queue")
            if source.get("Type") != "SQS" or not isinstance(queue, dict):
                continue
            (queue_id, _) = queue["Fn::GetAtt"]
            if any(f"-{queue_id}-" in arn.rsplit(":", 1)[-1] for arn in queue_arns):
                found.add(logical_id)
    return found


def test_there_are_event_files() -> None:
    assert EVENTS


@pytest.mark.parametrize("path", EVENTS, ids=lambda p: p.name)
def test_event_file_routes_to_a_template_function(path: Path) -> None:
    event = _event(path)

    assert _functions_for(event), f"{path.name} reaches no function of template.yaml"


@pytest.mark.parametrize(
    "path", [p for p in EVENTS if "routeKey" in _event(p)], ids=lambda p: p.name
)
def test_http_event_path_matches_its_route_key(path: Path) -> None:
    event = _event(path)
    method, _ = event["routeKey"].split(" ", 1)

    _, route, parameters = load_template().function_for(method, event["rawPath"])

    assert route.route_key == event["routeKey"]
    assert event["requestContext"]["http"]["method"] == method
    assert (event.get("pathParameters") or {}) == parameters


def test_every_function_has_an_event_file() -> None:
    covered = set().union(*(_functions_for(_event(path)) for path in EVENTS))

    missing = set(load_template().functions) - covered

    assert not missing, f"functions without an events/ file: {sorted(missing)}"


@pytest.mark.skipif(
    shutil.which("sam") is None and not (ROOT / ".venv/bin/sam").exists(),
    reason="SAM CLI is not installed",
)
def test_sam_validate_lint_passes() -> None:
    sam = str(ROOT / ".venv/bin/sam") if (ROOT / ".venv/bin/sam").exists() else "sam"

    completed = subprocess.run(
        [sam, "validate", "--lint"],
        cwd=ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
