"""devtools.template: routes, intrinsic values and tables read as the tooling needs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.template import HttpRoute, load_template, parse_template


def test_route_with_a_parameter_matches_one_segment() -> None:
    route = HttpRoute("GET", "/api/packages/{packageId}/availability")

    assert route.match("GET", "/api/packages/abc/availability") == {"packageId": "abc"}
    assert route.match("GET", "/api/packages/a/b/availability") is None
    assert route.match("POST", "/api/packages/abc/availability") is None


def test_greedy_parameter_and_any_method_match_the_rest_of_the_path() -> None:
    route = HttpRoute("ANY", "/files/{proxy+}")

    assert route.match("DELETE", "/files/a/b.txt") == {"proxy": "a/b.txt"}


def test_literal_route_wins_over_a_parameter_route(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        """
Resources:
  ByIdFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: a/
      Handler: app.handler
      Events:
        Api: {Type: HttpApi, Properties: {Path: "/items/{id}", Method: GET}}
  LatestFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: b/
      Handler: app.handler
      Events:
        Api: {Type: HttpApi, Properties: {Path: /items/latest, Method: GET}}
"""
    )

    parsed = parse_template(template)

    assert parsed.function_for("GET", "/items/latest")[0].logical_id == "LatestFunction"
    assert parsed.function_for("GET", "/items/42")[0].logical_id == "ByIdFunction"
    with pytest.raises(KeyError):
        parsed.function_for("GET", "/other")


def test_intrinsics_resolve_to_local_values(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        """
Parameters:
  Threshold: {Type: String, Default: "0.2"}
  SecretArn: {Type: String}
Globals:
  Function:
    Environment:
      Variables:
        THRESHOLD: !Ref Threshold
        SECRET_ARN: !Ref SecretArn
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-cooldowns"
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
      SSESpecification: {SSEEnabled: true}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.lambda_handler
      Environment:
        Variables:
          TABLE: !Ref Table
          ARN: !GetAtt Table.Arn
"""
    )

    parsed = parse_template(template)
    table = parsed.tables["Table"]
    environment = parsed.local_environment(parsed.functions["Fn"], {"Table": table.local_name})

    assert environment == {"THRESHOLD": "0.2", "TABLE": "inventory-local-cooldowns"}
    assert table.ttl_attribute == "expires_at"
    assert "SSESpecification" not in table.create_arguments


def test_repository_template_describes_its_functions_and_cooldown_table() -> None:
    template = load_template()

    spec = template.functions["PackagesAvailabilityFunction"]
    table = template.tables["CooldownTable"]

    assert spec.handler_path.is_file()
    assert any(folder.name == "shared" for folder in spec.layer_dirs)
    assert "GET /api/packages/availability" in template.routes
    assert table.create_arguments["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table.ttl_attribute == "expires_at"
