"""The key that seals webhook secrets (SPEC §10): generated at deploy time, kept when the stack
goes (the stored secrets are lost without it), and readable only by the functions that make
secrets and the one that signs with them."""

from __future__ import annotations

from typing import Any

from devtools.template import ROOT, load_yaml

SEALING_FUNCTIONS = {"SubscriptionsCreateFunction", "SubscriptionRotateSecretFunction"}
SIGNING_FUNCTIONS = {"NotificationDeliveryFunction"}


def _resources() -> dict[str, Any]:
    resources: dict[str, Any] = load_yaml(ROOT / "template.yaml")["Resources"]
    return resources


def test_the_key_is_generated_and_retained() -> None:
    key = _resources()["SubscriptionSecretKey"]

    assert key["Type"] == "AWS::SecretsManager::Secret"
    assert "SecretString" not in key["Properties"]
    assert key["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    assert key["DeletionPolicy"] == "Retain"
    assert key["UpdateReplacePolicy"] == "Retain"


def test_only_the_functions_that_make_or_sign_with_secrets_read_the_key() -> None:
    readers = set()
    for logical_id, resource in _resources().items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        variables = (properties.get("Environment") or {}).get("Variables") or {}
        policies = repr(properties.get("Policies"))
        names_key = variables.get("SUBSCRIPTION_SECRET_KEY_ARN") == {"Ref": "SubscriptionSecretKey"}
        if names_key or "SubscriptionSecretKey" in policies:
            assert names_key, logical_id
            assert "{'Ref': 'SubscriptionSecretKey'}" in policies, logical_id
            readers.add(logical_id)

    assert readers == SEALING_FUNCTIONS | SIGNING_FUNCTIONS
