"""The `sam build` output, imported and invoked the way Lambda does it.

Each function runs in a fresh `python3.13 -I -S` process whose sys.path holds only its built
folder (/var/task), the built layers (/opt/python) and boto3 (/var/runtime): a module the
layers miss, or a dependency only the dev virtualenv has, fails here. The build is for this
machine's architecture (see devtools.built_artifacts); everything else is as deployed.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from devtools.built_artifacts import (
    HOST_BUILD_ROOT,
    BuildUnavailableError,
    build_for_host,
    built_template,
    find_lambda_python,
    probe,
    runtime_dir,
    runtime_environment,
)
from devtools.demo_data import load_demo
from devtools.template import ROOT, FunctionSpec, Template, load_template

pytestmark = pytest.mark.built

EVENT_FILES = sorted((ROOT / "events").glob("*.json"))
# The cron event's Authorization header carries this token.
CRON_TOKEN = "local-dev-cron-token"
# API functions that only read PostgreSQL: their cold start must not pay for the AWS SDK.
READ_ONLY_FUNCTIONS = frozenset(
    {
        "PackagesAvailabilityFunction",
        "PackageAvailabilityFunction",
        "PackageImpactFunction",
        "CartValidateFunction",
    }
)
HEAVY_MODULES = ("boto3", "botocore.session", "botocore.client", "aws_xray_sdk")


@dataclass(frozen=True)
class Build:
    build_dir: Path
    template: Template
    python: Path
    runtime: Path

    def function_for(self, event: dict[str, Any]) -> FunctionSpec:
        if "routeKey" in event:
            return self.template.routes[event["routeKey"]]
        (scheduled,) = self.template.scheduled_functions
        return scheduled


@pytest.fixture(scope="session")
def build() -> Build:
    try:
        build_dir = build_for_host()
    except BuildUnavailableError as reason:
        pytest.skip(f"sam build cannot run here: {reason}")
    python = find_lambda_python()
    assert python is not None
    return Build(build_dir, built_template(build_dir), python, runtime_dir(HOST_BUILD_ROOT))


@pytest.fixture
def demo_bar(db: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    """The demo bar, whose ids the events/ files use."""
    assert load_demo(db)
    return db


@pytest.fixture
def lambda_env(
    build: Build,
    database_url: str,
    moto_endpoint: str,
    cooldown_table: str,
    idempotency_table: str,
) -> Any:
    """The whole environment of a built function: the runtime's, the template's, the tests'."""

    def environment(spec: FunctionSpec) -> dict[str, str]:
        return {
            **runtime_environment(spec),
            **build.template.local_environment(
                spec, {"CooldownTable": cooldown_table, "IdempotencyTable": idempotency_table}
            ),
            "DATABASE_URL": database_url,
            "AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "CRON_SECRET": CRON_TOKEN,
            "SUBSCRIPTION_SECRET_KEY": "built-test-subscription-secret-key-0123456789",
            # The create event's host is not resolved (no DNS in tests).
            "ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
        }

    return environment


def _event(path: Path) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(path.read_text())
    return event


def _store_what_it_names(db: psycopg.Connection[Any], event: dict[str, Any]) -> None:
    """The notification an inbox event names (the demo bar has none until a monitor run), the
    subscription a subscription event names."""
    notification_id = (event.get("pathParameters") or {}).get("notificationId")
    if notification_id is not None:
        db.execute(
            "INSERT INTO notifications (id, type, priority, title, message, reference_type,"
            " reference_id) VALUES (%s, 'package_unavailable', 'urgent', 'Sold out',"
            " 'Sold out.', 'package', gen_random_uuid())",
            (notification_id,),
        )
    subscription_id = (event.get("pathParameters") or {}).get("subscriptionId")
    if subscription_id is not None:  # a webhook (rotation never opens the stored secret)
        db.execute(
            "INSERT INTO notification_subscriptions (id, channel, target, webhook_secret)"
            " VALUES (%s, 'webhook', 'https://hooks.example.com/inventory', '\\x01'::bytea)",
            (subscription_id,),
        )


def _outside(origins: dict[str, str], *folders: Path) -> dict[str, str]:
    prefixes = tuple(str(folder) + "/" for folder in folders)
    return {name: path for name, path in origins.items() if not path.startswith(prefixes)}


@pytest.mark.parametrize("event_file", EVENT_FILES, ids=lambda path: path.stem)
def test_built_function_answers_its_event_with_only_the_lambda_layout_importable(
    event_file: Path, build: Build, demo_bar: psycopg.Connection[Any], lambda_env: Any
) -> None:
    event = _event(event_file)
    spec = build.function_for(event)
    _store_what_it_names(demo_bar, event)

    result = probe(build.python, spec, [event], lambda_env(spec), runtime=build.runtime)

    assert result.import_error is None, result.logs
    (call,) = result.invocations
    assert "error" not in call, result.logs
    response = call["response"]
    if "routeKey" in event:
        # 201: the subscription's creation.
        assert response["statusCode"] in (200, 201), response["body"]
        assert json.loads(response["body"])["success"] is True
    else:
        assert response["success"] is True, response
        assert response["summary"]["packages_checked"] > 0
    assert not _outside(result.origins, build.build_dir, build.runtime)


def _read_only_event_files() -> list[Path]:
    routes = load_template().routes
    return [
        path
        for path in EVENT_FILES
        if (route := _event(path).get("routeKey")) in routes
        and routes[route].logical_id in READ_ONLY_FUNCTIONS
    ]


@pytest.mark.parametrize("event_file", _read_only_event_files(), ids=lambda path: path.stem)
def test_read_only_function_loads_neither_the_aws_sdk_nor_xray(
    event_file: Path, build: Build, demo_bar: psycopg.Connection[Any], lambda_env: Any
) -> None:
    event = _event(event_file)
    spec = build.function_for(event)

    result = probe(
        build.python,
        spec,
        [event],
        lambda_env(spec),
        runtime=build.runtime,
        watch_modules=HEAVY_MODULES,
    )

    (call,) = result.invocations
    assert "error" not in call, result.logs
    loaded = [name for name, present in result.loaded.items() if present]
    assert loaded == [], f"{spec.logical_id} imported {loaded}"


def test_every_read_only_function_has_an_event_to_check_it_with() -> None:
    routes = load_template().routes
    covered = {routes[_event(path)["routeKey"]].logical_id for path in _read_only_event_files()}

    assert covered == READ_ONLY_FUNCTIONS


def test_built_dependencies_layer_leaves_the_aws_sdk_to_the_runtime(build: Build) -> None:
    layer = build.build_dir / "DependenciesLayer" / "python"

    bundled = sorted(path.name for path in layer.iterdir())

    assert {"pydantic", "psycopg", "aws_lambda_powertools"} <= set(bundled)
    assert not {"boto3", "botocore"} & set(bundled)


def test_built_domain_layer_is_the_inventory_package_under_python(build: Build) -> None:
    layer = build.build_dir / "DomainLayer" / "python"

    assert (layer / "inventory" / "__init__.py").is_file()
    assert (layer / "inventory" / "rules" / "availability.py").is_file()


def test_built_function_reads_the_database_url_from_secrets_manager(
    build: Build,
    demo_bar: psycopg.Connection[Any],
    lambda_env: Any,
    database_url: str,
    moto_endpoint: str,
) -> None:
    """As deployed: DATABASE_SECRET_ARN, fetched through Powertools parameters (runtime boto3)."""
    import boto3

    secrets = boto3.client("secretsmanager", endpoint_url=moto_endpoint)
    arn = secrets.create_secret(Name=f"db-{uuid.uuid4().hex}", SecretString=database_url)["ARN"]
    event = _event(ROOT / "events" / "packages_availability.json")
    spec = build.function_for(event)
    environment = {
        name: value for name, value in lambda_env(spec).items() if name != "DATABASE_URL"
    }
    environment |= {"DATABASE_SECRET_ARN": arn, "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_endpoint}

    result = probe(build.python, spec, [event], environment, runtime=build.runtime)

    (call,) = result.invocations
    assert "error" not in call, result.logs
    assert call["response"]["statusCode"] == 200, result.logs
    assert result.loaded["boto3"]  # the secret fetch is what brings the SDK in
