"""The database URL from Secrets Manager (moto's server over HTTP), and its failure modes."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from functions.packages_availability import app as packages_availability
from tests.support.events import FakeLambdaContext, load_event, response_json
from tests.support.services import free_port


def _secret(endpoint: str, value: str) -> str:
    client = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1")
    return client.create_secret(Name=f"inventory/test/{uuid.uuid4()}", SecretString=value)["ARN"]


def _use_secret(env: pytest.MonkeyPatch, arn: str, endpoint: str) -> None:
    env.delenv("DATABASE_URL", raising=False)
    env.setenv("DATABASE_SECRET_ARN", arn)
    env.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint)


def test_url_secret_is_used_for_the_connection(
    db: Any,
    moto_endpoint: str,
    database_url: str,
    service_env: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
) -> None:
    _use_secret(service_env, _secret(moto_endpoint, database_url), moto_endpoint)
    response = packages_availability.lambda_handler(
        load_event("packages_availability.json"), lambda_context
    )
    assert response["statusCode"] == 200
    assert response_json(response) == {"success": True, "data": []}


def test_secrets_manager_unreachable_is_503(
    service_env: pytest.MonkeyPatch, lambda_context: FakeLambdaContext
) -> None:
    arn = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:inventory-{uuid.uuid4()}"
    _use_secret(service_env, arn, f"http://127.0.0.1:{free_port()}")
    response = packages_availability.lambda_handler(
        load_event("packages_availability.json"), lambda_context
    )
    assert response["statusCode"] == 503
    assert response_json(response)["error"]["code"] == "dependency_unavailable"
    assert arn not in response["body"]


def test_malformed_secret_is_a_configuration_error_without_its_value(
    moto_endpoint: str, service_env: pytest.MonkeyPatch, lambda_context: FakeLambdaContext
) -> None:
    _use_secret(service_env, _secret(moto_endpoint, '{"password": "hunter2"}'), moto_endpoint)
    response = packages_availability.lambda_handler(
        load_event("packages_availability.json"), lambda_context
    )
    assert response["statusCode"] == 500
    assert response_json(response)["error"]["code"] == "configuration_error"
    assert "hunter2" not in response["body"]
