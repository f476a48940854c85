"""Clients generated from openapi.json drive the local API as they are; the document lints clean.

openapi-python-client's client calls every route (tests/clients/drive_python_client.py);
openapi-typescript's types carry a small typed POS client (tests/clients/pos_client.ts) through
`tsc --strict --noEmit`, and the compiled client then polls, blocks and validates against the
local API. Neither gets a hand-written patch: a document they cannot use fails here.
openapi-spec-validator and `redocly lint --extends recommended` must report no error.

Slow: the toolchain (devtools/openapi_clients.py) installs itself under .local/ on first use,
about half a minute; later runs reuse it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devtools.local_api import LocalApiServer
from devtools.local_issuer import LOCAL_CLIENTS
from devtools.openapi import OPENAPI_PATH
from devtools.openapi_clients import (
    Toolchain,
    drive_python_client,
    generate_python_client,
    lint,
    prepare_typescript,
    run_typescript_demo,
    toolchain,
    typecheck_typescript,
)
from tests.support.local_api import CRON_TOKEN, token_for

pytestmark = pytest.mark.slow

# Redocly warnings looked at and accepted; any other warning fails, so it gets looked at too.
ACCEPTED_WARNINGS = {
    "info-license": "the project has not chosen a licence to publish",
}


@pytest.fixture(scope="module")
def tools() -> Toolchain:
    return toolchain()


def _operation_ids() -> set[str]:
    document: dict[str, Any] = json.loads(OPENAPI_PATH.read_text())
    return {
        operation["operationId"]
        for operations in document["paths"].values()
        for operation in operations.values()
    }


def test_the_document_passes_the_spec_validator_and_redocly_recommended(tools: Toolchain) -> None:
    report = lint(tools)
    print(report.validator, report.redocly_totals, report.warnings(), sep="\n")

    assert report.validator.endswith("OK")
    assert report.redocly_totals["errors"] == 0, report.errors()
    unexpected = {p["ruleId"] for p in report.redocly_problems} - set(ACCEPTED_WARNINGS)
    assert not unexpected, report.warnings()


def test_the_generated_python_client_drives_every_route(
    tools: Toolchain, local_api: LocalApiServer, tmp_path: Path
) -> None:
    client_dir = generate_python_client(tools, tmp_path / "python")

    output = drive_python_client(
        tools, client_dir, local_api.url, CRON_TOKEN, token_for(local_api.url)
    )

    print(output)
    driven = {line.split(":", 1)[0] for line in output.splitlines()}
    assert driven == _operation_ids(), "every operation, through the generated client"


def test_a_typed_typescript_client_passes_tsc_strict_and_polls_blocks_and_validates(
    tools: Toolchain, local_api: LocalApiServer, tmp_path: Path
) -> None:
    work = prepare_typescript(tools, tmp_path / "typescript")
    typecheck_typescript(tools, work)

    pos = LOCAL_CLIENTS["local-pos-terminal"]
    seen = run_typescript_demo(tools, work, local_api.url, pos.client_id, pos.client_secret)

    print("\n".join(seen))
    assert seen[1] == "second poll: unchanged"  # If-None-Match answered 304
    assert seen[2].startswith("blocked ")
    assert seen[3].startswith("sold-out cart refused")
    assert seen[4].endswith("is valid")
