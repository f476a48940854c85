"""`sam build` output, run the way Lambda runs it: for the built-artifact tests and cold starts.

Lambda lays a Python function out as /var/task (the function's build folder), /opt/python
(each layer's python/ folder) and /var/runtime (the runtime's own boto3 and botocore). Here a
fresh `python3.13 -I -S` process gets exactly those folders on sys.path, and nothing of the
repository or the virtualenv, so a module the layers miss fails here as it would in AWS.

The template says arm64, whose wheels (pydantic_core, psycopg_binary) cannot load on an x86_64
machine: the build here uses a copy of template.yaml with the host's architecture instead, the
only difference from what `sam build` makes for a deployment.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.file_lock import exclusive
from devtools.template import ROOT, FunctionSpec, Template, parse_template

LAMBDA_PYTHON = "3.13"
TEMPLATE_ARCHITECTURE = "arm64"
# Host builds live with SAM's own output (git-ignored) and are reused while sources are equal.
HOST_BUILD_ROOT = ROOT / ".aws-sam" / "host-build"
PROBE = Path(__file__).resolve().with_name("lambda_probe.py")
# What the Lambda Python runtime provides in /var/runtime besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")
# Sources whose change requires a new build.
_BUILD_INPUTS = ("template.yaml", "functions", "shared", "layers")


class BuildUnavailableError(RuntimeError):
    """sam build cannot run here (no Python 3.13, no SAM CLI); the message says what is missing."""


class BuildFailedError(RuntimeError):
    """sam build ran and failed; the message holds its output."""


def host_architecture() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "aarch64": "arm64"}.get(machine, machine)


def find_lambda_python() -> Path | None:
    """A python3.13 interpreter: pyenv's versions/ first (its shim alone may not expose it)."""
    candidates = sorted(Path.home().glob(f".pyenv/versions/{LAMBDA_PYTHON}*/bin/python3"))
    on_path = shutil.which(f"python{LAMBDA_PYTHON}")
    for candidate in [*candidates, *([Path(on_path)] if on_path else [])]:
        try:
            completed = subprocess.run(
                [str(candidate), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except OSError:
            continue
        if completed.returncode == 0 and completed.stdout.strip() == LAMBDA_PYTHON:
            return candidate
    return None


def find_sam() -> Path | None:
    local = ROOT / ".venv" / "bin" / "sam"
    if local.exists():
        return local
    found = shutil.which("sam")
    return Path(found) if found else None


def host_template_text(template_text: str, architecture: str) -> str:
    """template.yaml with each arm64 (Architectures, BuildArchitecture...) set to `architecture`."""
    return re.sub(rf"\b{TEMPLATE_ARCHITECTURE}\b", architecture, template_text)


def sources_fingerprint(root: Path = ROOT, architecture: str | None = None) -> str:
    """A hash of every build input, so an unchanged tree reuses the previous build."""
    digest = hashlib.sha256((architecture or host_architecture()).encode())
    for name in _BUILD_INPUTS:
        base = root / name
        files = [base] if base.is_file() else sorted(base.rglob("*"))
        for path in files:
            if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def build_for_host(build_root: Path = HOST_BUILD_ROOT) -> Path:
    """`sam build` (cached, parallel, no Docker) for this machine's architecture; the build dir.

    Skips the build when the sources are the same as last time. Raises BuildUnavailableError
    when Python 3.13 or the SAM CLI is missing, BuildFailedError when the build fails.
    """
    python = find_lambda_python()
    if python is None:
        raise BuildUnavailableError(
            f"sam build without Docker needs python{LAMBDA_PYTHON} (the Lambda runtime's "
            f"version) on PATH or under ~/.pyenv/versions/{LAMBDA_PYTHON}*"
        )
    sam = find_sam()
    if sam is None:
        raise BuildUnavailableError("the SAM CLI is not installed (pip install aws-sam-cli)")
    architecture = host_architecture()
    build_dir = build_root / "build"
    stamp = build_root / "sources.sha256"
    with exclusive(build_root / ".lock"):
        fingerprint = sources_fingerprint(ROOT, architecture)
        if stamp.exists() and stamp.read_text() == fingerprint and build_dir.is_dir():
            return build_dir
        template_copy = build_root / "template.yaml"
        template_copy.write_text(
            host_template_text((ROOT / "template.yaml").read_text(), architecture)
        )
        completed = subprocess.run(
            [
                str(sam), "build",
                "--template-file", str(template_copy),
                "--base-dir", str(ROOT),
                "--build-dir", str(build_dir),
                "--cache-dir", str(build_root / "cache"),
                "--cached", "--parallel",
            ],
            cwd=build_root,  # SAM keeps downloaded dependencies in ./.aws-sam/deps
            env={
                **os.environ,
                "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
                "SAM_CLI_TELEMETRY": "0",
            },
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        if completed.returncode != 0:
            stamp.unlink(missing_ok=True)
            raise BuildFailedError(completed.stdout + completed.stderr)
        stamp.write_text(fingerprint)
    return build_dir


def built_template(build_dir: Path) -> Template:
    """The template SAM wrote into the build: CodeUri/ContentUri point at the built folders."""
    return parse_template(build_dir / "template.yaml")


def runtime_dir(build_root: Path = HOST_BUILD_ROOT) -> Path:
    """A stand-in for /var/runtime: links to this interpreter's boto3, botocore and their
    pure-Python dependencies, and nothing else."""
    folder = build_root / "runtime"
    folder.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise BuildUnavailableError(f"{name} is not installed; it stands in for the runtime's")
        source = Path(spec.origin)
        if spec.submodule_search_locations:
            source = source.parent
        link = folder / source.name
        if not link.is_symlink():
            link.symlink_to(source)
    return folder


def lambda_sys_path(spec: FunctionSpec, runtime: Path) -> list[str]:
    """/var/task, then /opt/python (the layers, in template order), then /var/runtime."""
    return [str(spec.code_dir), *(str(folder) for folder in spec.layer_dirs), str(runtime)]


def runtime_environment(spec: FunctionSpec) -> dict[str, str]:
    """The variables the Lambda runtime itself sets for a function."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{LAMBDA_PYTHON}",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "_HANDLER": f"{spec.handler_module}.{spec.handler_function}",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
    }


@dataclass(frozen=True)
class ProbeResult:
    """What one fresh container did: import time, each invocation, which modules it loaded."""

    returncode: int
    import_ms: float | None
    invocations: list[dict[str, Any]]
    loaded: dict[str, bool]
    origins: dict[str, str]
    import_error: str | None
    logs: str

    def responses(self) -> list[Any]:
        return [call.get("response", call.get("error")) for call in self.invocations]


def probe(
    python: Path,
    spec: FunctionSpec,
    events: Sequence[Mapping[str, Any]],
    environment: Mapping[str, str],
    *,
    runtime: Path,
    watch_modules: Sequence[str] = ("boto3", "botocore", "aws_xray_sdk"),
    timeout_seconds: float = 120,
) -> ProbeResult:
    """Import the built function in a fresh interpreter and invoke it with each event.

    `environment` is the whole environment of the child (nothing is inherited).
    """
    request = {
        "sys_path": lambda_sys_path(spec, runtime),
        "handler": f"{spec.handler_module}.{spec.handler_function}",
        "events": list(events),
        "function_name": spec.logical_id,
        "memory_mb": spec.memory_mb,
        "timeout_seconds": spec.timeout_seconds,
        "watch_modules": list(watch_modules),
    }
    completed = subprocess.run(
        [str(python), "-I", "-S", str(PROBE)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env=dict(environment),
        cwd=spec.code_dir,
        timeout=timeout_seconds,
        check=False,
    )
    lines = completed.stdout.strip().splitlines()
    answer: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    return ProbeResult(
        returncode=completed.returncode,
        import_ms=answer.get("import_ms"),
        invocations=list(answer.get("invocations", [])),
        loaded=dict(answer.get("loaded", {})),
        origins=dict(answer.get("origins", {})),
        import_error=answer.get("import_error") or (None if lines else "no answer"),
        logs=completed.stderr,
    )
