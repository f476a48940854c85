"""The domain layer's import rules (docs/ARCHITECTURE.md): rules stay pure, data flows one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from devtools.template import ROOT

PACKAGE = ROOT / "shared" / "inventory"

# Layer -> the inventory modules (by prefix) it must never import.
FORBIDDEN = {
    "rules": ("inventory.data", "inventory.services", "inventory.http", "inventory.config"),
    "models": ("inventory.data", "inventory.services", "inventory.http"),
    "data": ("inventory.services", "inventory.http"),
    "services": ("inventory.http",),
}
# Third-party modules that mean I/O: pure rules never import them.
IO_MODULES = ("psycopg", "boto3", "botocore", "aws_lambda_powertools")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer: str) -> None:
    crossings = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(layer)
        for name in sorted(_imports(path))
        if name.startswith(FORBIDDEN[layer])
    ]
    assert crossings == []


def test_rules_do_no_io() -> None:
    crossings = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules("rules")
        for name in sorted(_imports(path))
        if name.split(".")[0] in IO_MODULES
    ]
    assert crossings == []


def test_only_the_factory_names_a_cooldown_store_implementation() -> None:
    implementations = ("inventory.data.cooldowns.dynamodb", "inventory.data.cooldowns.disabled")
    users = sorted(
        str(path.relative_to(ROOT))
        for path in PACKAGE.rglob("*.py")
        if "cooldowns" not in path.parts
        and any(name.startswith(implementations) for name in _imports(path))
    )
    assert users == []


def test_the_domain_layer_never_imports_a_handler() -> None:
    crossings = [
        str(path.relative_to(ROOT))
        for path in PACKAGE.rglob("*.py")
        if any(name.split(".")[0] == "functions" for name in _imports(path))
    ]
    assert crossings == []


def test_the_checker_sees_imports() -> None:
    # The rules above would pass vacuously if the parser found nothing.
    assert "inventory.data.cooldowns" in _imports(PACKAGE / "services" / "delivery.py")
