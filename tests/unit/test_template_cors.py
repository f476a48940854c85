"""Template.cors_policy: an HttpApi's CorsConfiguration read from template values (in memory)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devtools.cors import CorsPolicy
from devtools.template import Template

ORIGINS_PARAMETER = {
    "CorsAllowedOrigins": {"Type": "CommaDelimitedList", "Default": "http://a.test, http://b.test"}
}


def _template(raw: dict[str, Any]) -> Template:
    return Template(path=Path("template.yaml"), raw=raw, functions={}, tables={})


def _api(cors: Any) -> dict[str, Any]:
    return {"Type": "AWS::Serverless::HttpApi", "Properties": {"CorsConfiguration": cors}}


def test_the_properties_are_read_with_a_comma_delimited_parameter_split() -> None:
    template = _template(
        {
            "Parameters": ORIGINS_PARAMETER,
            "Resources": {
                "Api": _api(
                    {
                        "AllowOrigins": {"Ref": "CorsAllowedOrigins"},
                        "AllowMethods": ["get", "POST"],
                        "AllowHeaders": ["Content-Type"],
                        "ExposeHeaders": ["ETag"],
                        "MaxAge": "300",
                        "AllowCredentials": True,
                    }
                )
            },
        }
    )

    assert template.cors_policy() == CorsPolicy(
        allow_origins=("http://a.test", "http://b.test"),
        allow_methods=("GET", "POST"),
        allow_headers=("Content-Type",),
        expose_headers=("ETag",),
        max_age=300,
        allow_credentials=True,
    )


def test_a_parameter_override_replaces_the_default() -> None:
    template = _template(
        {
            "Parameters": ORIGINS_PARAMETER,
            "Resources": {"Api": _api({"AllowOrigins": {"Ref": "CorsAllowedOrigins"}})},
        }
    )

    policy = template.cors_policy({"CorsAllowedOrigins": "http://localhost:5173"})

    assert policy is not None
    assert policy.allow_origins == ("http://localhost:5173",)


def test_sams_short_forms_true_and_an_intrinsic_are_origins() -> None:
    anyone = _template({"Resources": {"Api": _api(True)}})
    by_parameter = _template(
        {"Parameters": ORIGINS_PARAMETER, "Resources": {"Api": _api({"Ref": "CorsAllowedOrigins"})}}
    )

    assert anyone.cors_policy() == CorsPolicy(allow_origins=("*",))
    assert by_parameter.cors_policy() == CorsPolicy(
        allow_origins=("http://a.test", "http://b.test")
    )


def test_globals_apply_to_the_implicit_api_and_merge_under_the_resources() -> None:
    shared = {"HttpApi": {"CorsConfiguration": {"AllowOrigins": ["*"], "MaxAge": 60}}}
    implicit = _template({"Globals": shared, "Resources": {}})
    merged = _template(
        {"Globals": shared, "Resources": {"Api": _api({"AllowOrigins": ["https://pos.test"]})}}
    )

    assert implicit.cors_policy() == CorsPolicy(allow_origins=("*",), max_age=60)
    assert merged.cors_policy() == CorsPolicy(allow_origins=("https://pos.test",), max_age=60)


def test_no_configuration_is_no_cors() -> None:
    bare = {"Type": "AWS::Serverless::HttpApi", "Properties": {}}

    assert _template({"Resources": {"Api": bare}}).cors_policy() is None
    assert _template({"Resources": {}}).cors_policy() is None


def test_a_configuration_api_gateway_refuses_does_not_run_locally() -> None:
    template = _template({"Resources": {"Api": _api({"AllowOrigins": ["https://*.pos.test"]})}})

    with pytest.raises(ValueError, match="wildcard"):
        template.cors_policy()


def test_a_value_without_a_local_meaning_is_an_error() -> None:
    template = _template(
        {"Resources": {"Api": _api({"AllowOrigins": [{"Fn::GetAtt": ["Site", "Url"]}]})}}
    )

    with pytest.raises(ValueError, match="no local meaning"):
        template.cors_policy()
