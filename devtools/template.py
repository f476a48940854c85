"""template.yaml read into typed descriptions: the single source the local tooling works from.

`make run`, `make invoke`, the OpenAPI generator and the contract tests all ask this module
which functions exist, where their code is, which routes and schedules call them, what
environment they get and how the DynamoDB tables are keyed, so a function another change adds
to the template is picked up everywhere without a list to keep in step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from devtools.cors import CorsPolicy

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"

# What the local runtime answers for CloudFormation's pseudo parameters.
LOCAL_STACK_NAME = "inventory-local"
LOCAL_REGION = "us-east-1"
LOCAL_ACCOUNT_ID = "123456789012"

FUNCTION_TYPE = "AWS::Serverless::Function"
EVENT_BUS_TYPE = "AWS::Events::EventBus"
EVENT_RULE_TYPE = "AWS::Events::Rule"
HTTP_API_TYPE = "AWS::Serverless::HttpApi"
TABLE_TYPES = ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable")
_PATH_PARAMETER = re.compile(r"\{([^}/]+?)(\+?)\}")


class _CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that reads the short intrinsic tags (!Ref, !Sub, !GetAtt...) as the long
    JSON form ({"Ref": ...}, {"Fn::Sub": ...}), as CloudFormation itself does."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 (safe subclass)
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a CloudFormation template")
    return data


@dataclass(frozen=True)
class HttpRoute:
    """One HttpApi event: `GET /api/packages/{packageId}/availability`.

    `authorizer` is the authorizer API Gateway runs before the function (the event's
    `Auth.Authorizer`, else the HttpApi's `DefaultAuthorizer`), None for a public route
    (`Authorizer: NONE`); `scopes` are its `AuthorizationScopes`, any one of which suffices.
    """

    method: str
    path: str
    authorizer: str | None = None
    scopes: tuple[str, ...] = ()

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in _PATH_PARAMETER.findall(self.path))

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when `method path` is this route, else None.

        API Gateway semantics: `{name}` is one segment, `{name+}` the rest of the path, and
        `ANY` matches every method.
        """
        if self.method not in ("ANY", method.upper()):
            return None
        pattern = ""
        position = 0
        for found in _PATH_PARAMETER.finditer(self.path):
            pattern += re.escape(self.path[position : found.start()])
            segment = ".+" if found.group(2) else "[^/]+"
            pattern += f"(?P<{_group(found.group(1))}>{segment})"
            position = found.end()
        pattern += re.escape(self.path[position:])
        matched = re.fullmatch(pattern, path)
        if matched is None:
            return None
        return {name: matched.group(_group(name)) for name in self.parameter_names}

    @property
    def specificity(self) -> tuple[int, int]:
        """Sort key: API Gateway prefers the route with fewer (then shorter) variables."""
        return (len(self.parameter_names), -len(self.path))


def _group(name: str) -> str:
    return "p_" + re.sub(r"\W", "_", name)


@dataclass(frozen=True)
class Schedule:
    """One Schedule (EventBridge rule) event of a function."""

    name: str
    expression: str
    enabled: bool

    @property
    def rule_arn(self) -> str:
        return (
            f"arn:aws:events:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:rule/{LOCAL_STACK_NAME}-{self.name}"
        )


@dataclass(frozen=True)
class QueueSource:
    """One SQS event of a function: the queue (its logical id) and the batch size."""

    queue: str
    batch_size: int


@dataclass(frozen=True)
class EventRule:
    """A rule on one of the template's event buses that invokes the template's functions: an
    AWS::Events::Rule whose Targets are `!GetAtt <Function>.Arn`, or a function's
    `EventBridgeRule` event. `name` is its logical id (SAM's `<Function><Event>` for an event),
    `bus` the bus's logical id, `pattern` its EventPattern."""

    name: str
    bus: str
    pattern: Mapping[str, Any]
    functions: tuple[str, ...]


@dataclass(frozen=True)
class JwtAuthorizerSpec:
    """One JWT authorizer of the HttpApi's `Auth.Authorizers`, values as the template has them
    (the issuer and audience are intrinsics: the stack's Cognito pool or a parameter)."""

    name: str
    identity_source: str
    issuer: Any
    audience: Any


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler_module: str
    handler_function: str
    # Raw template values (literal strings or intrinsics), Globals first, then the function's.
    environment: Mapping[str, Any]
    layer_dirs: tuple[Path, ...]
    routes: tuple[HttpRoute, ...]
    schedules: tuple[Schedule, ...]
    queue_sources: tuple[QueueSource, ...]
    memory_mb: int
    timeout_seconds: int

    @property
    def handler_path(self) -> Path:
        return self.code_dir / (self.handler_module.replace(".", "/") + ".py")


@dataclass(frozen=True)
class TableSpec:
    """A DynamoDB table as the template declares it, ready for boto3's create_table."""

    logical_id: str
    local_name: str
    create_arguments: Mapping[str, Any]
    ttl_attribute: str | None


@dataclass(frozen=True)
class Template:
    path: Path
    raw: Mapping[str, Any] = field(repr=False)
    functions: Mapping[str, FunctionSpec]
    tables: Mapping[str, TableSpec]

    @property
    def routes(self) -> dict[str, FunctionSpec]:
        """Every HTTP route key (`GET /path`) and the function that serves it."""
        return {route.route_key: spec for spec in self.functions.values() for route in spec.routes}

    @property
    def scheduled_functions(self) -> list[FunctionSpec]:
        return [spec for spec in self.functions.values() if spec.schedules]

    @property
    def queue_functions(self) -> list[FunctionSpec]:
        """The functions an SQS queue invokes (Events of Type SQS)."""
        return [spec for spec in self.functions.values() if spec.queue_sources]

    @property
    def event_buses(self) -> dict[str, str]:
        """Each AWS::Events::EventBus's local name, by logical id (its `Name` resolved, else
        `<stack>-<logical id>`)."""
        found = {}
        for logical_id in self.resources_of_type(EVENT_BUS_TYPE):
            properties = self.raw["Resources"][logical_id].get("Properties") or {}
            name = self.resolve(properties.get("Name")) if "Name" in properties else None
            found[logical_id] = name or f"{LOCAL_STACK_NAME}-{logical_id}"
        return found

    @property
    def event_rules(self) -> list[EventRule]:
        """Every enabled rule on one of the template's buses that targets its functions."""
        buses = set(self.resources_of_type(EVENT_BUS_TYPE))
        rules = []
        for logical_id in self.resources_of_type(EVENT_RULE_TYPE):
            properties = self.raw["Resources"][logical_id].get("Properties") or {}
            targets = tuple(
                function
                for target in properties.get("Targets") or []
                if (function := _function_arn_of(target.get("Arn"), self.functions)) is not None
            )
            rule = _rule(logical_id, properties, "EventPattern", buses, targets)
            if rule is not None:
                rules.append(rule)
        for function_id in self.functions:
            properties = self.raw["Resources"][function_id].get("Properties") or {}
            for name, event in (properties.get("Events") or {}).items():
                if event.get("Type") != "EventBridgeRule":
                    continue
                event_properties = event.get("Properties") or {}
                rule = _rule(
                    f"{function_id}{name}", event_properties, "Pattern", buses, (function_id,)
                )
                if rule is not None:
                    rules.append(rule)
        return rules

    def resources_of_type(self, kind: str) -> list[str]:
        """The logical ids of the template's resources of one type (AWS::SQS::Queue, ...)."""
        resources = self.raw.get("Resources") or {}
        return [
            name for name, r in resources.items() if isinstance(r, dict) and r.get("Type") == kind
        ]

    @property
    def http_routes(self) -> list[HttpRoute]:
        """Every HttpApi route of every function, with its authorizer and scopes."""
        return [route for spec in self.functions.values() for route in spec.routes]

    def jwt_authorizers(self) -> dict[str, JwtAuthorizerSpec]:
        """The HttpApi's JWT authorizers by name."""
        found: dict[str, JwtAuthorizerSpec] = {}
        for name, config in (_http_api_auth(self.raw).get("Authorizers") or {}).items():
            jwt = config.get("JwtConfiguration")
            if not isinstance(jwt, dict):
                continue  # a Lambda authorizer: not something the local API runs
            found[str(name)] = JwtAuthorizerSpec(
                name=str(name),
                identity_source=str(config.get("IdentitySource", "$request.header.Authorization")),
                issuer=jwt.get("issuer"),
                audience=jwt.get("audience"),
            )
        return found

    def function_for(
        self, method: str, path: str
    ) -> tuple[FunctionSpec, HttpRoute, dict[str, str]]:
        """The function and route serving a concrete request; KeyError when none does."""
        candidates = [(route, spec) for spec in self.functions.values() for route in spec.routes]
        for route, spec in sorted(candidates, key=lambda pair: pair[0].specificity):
            parameters = route.match(method, path)
            if parameters is not None:
                return spec, route, parameters
        raise KeyError(f"{method} {path}")

    def resolve(self, value: Any, resources: Mapping[str, str] | None = None) -> str | None:
        """A template value as a local string: literals as they are, !Ref of a parameter as its
        default, !Ref of a resource from `resources` (logical id -> local value), !Sub with the
        same; None when there is no local meaning (a secret ARN, an attribute)."""
        resources = resources or {}
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        if isinstance(value, dict) and len(value) == 1:
            ((kind, argument),) = value.items()
            if kind == "Ref" and isinstance(argument, str):
                return self._ref(argument, resources)
            if kind == "Fn::Sub":
                return self._sub(argument, resources)
        return None

    def _ref(self, name: str, resources: Mapping[str, str]) -> str | None:
        pseudo = {
            "AWS::StackName": LOCAL_STACK_NAME,
            "AWS::Region": LOCAL_REGION,
            "AWS::AccountId": LOCAL_ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in resources:
            return resources[name]
        parameter = self.raw.get("Parameters", {}).get(name)
        if isinstance(parameter, dict) and "Default" in parameter:
            return str(parameter["Default"])
        return None

    def _sub(self, argument: Any, resources: Mapping[str, str]) -> str | None:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        missing = False

        def replace(found: re.Match[str]) -> str:
            nonlocal missing
            name = found.group(1)
            if name in variables:
                value = self.resolve(variables[name], resources)
            else:
                value = self._ref(name, resources)
            if value is None:
                missing = True
                return ""
            return value

        result = re.sub(r"\$\{([^}!]+)\}", replace, str(text))
        return None if missing else result

    def cors_policy(self, parameters: Mapping[str, str] | None = None) -> CorsPolicy | None:
        """The HTTP API's CorsConfiguration as values; None when the API has none.

        The one AWS::Serverless::HttpApi's property (merged over Globals.HttpApi's, as SAM
        merges maps), or Globals.HttpApi's for SAM's implicit API. SAM's forms: `true` (any
        origin), an intrinsic (the origins) or the six properties. `parameters` override the
        template parameters' defaults, as `sam deploy --parameter-overrides` would; a
        CommaDelimitedList parameter is split on commas.
        """
        parameters = parameters or {}
        apis = [
            resource.get("Properties") or {}
            for resource in (self.raw.get("Resources") or {}).values()
            if resource.get("Type") == HTTP_API_TYPE
        ]
        if len(apis) > 1:
            raise ValueError("the local API serves one HttpApi; template.yaml declares several")
        shared = ((self.raw.get("Globals") or {}).get("HttpApi") or {}).get("CorsConfiguration")
        config = apis[0].get("CorsConfiguration", shared) if apis else shared
        if isinstance(config, dict) and isinstance(shared, dict) and config is not shared:
            config = {**shared, **config}
        if config is None or config is False:
            return None
        if config is True:
            return CorsPolicy(allow_origins=("*",))
        if _is_intrinsic(config):
            return CorsPolicy(allow_origins=self._cors_list(config, parameters))
        if not isinstance(config, dict):
            raise ValueError(
                f"CorsConfiguration is neither true, an intrinsic nor a map: {config!r}"
            )
        max_age = config.get("MaxAge")
        credentials = config.get("AllowCredentials")
        return CorsPolicy(
            allow_origins=self._cors_list(config.get("AllowOrigins"), parameters),
            allow_methods=tuple(
                method.upper() for method in self._cors_list(config.get("AllowMethods"), parameters)
            ),
            allow_headers=self._cors_list(config.get("AllowHeaders"), parameters),
            expose_headers=self._cors_list(config.get("ExposeHeaders"), parameters),
            max_age=None if max_age is None else int(self._cors_value(max_age, parameters)),
            allow_credentials=credentials is not None
            and self._cors_value(credentials, parameters).lower() == "true",
        )

    def _cors_value(self, value: Any, parameters: Mapping[str, str]) -> str:
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in parameters:
            return parameters[value["Ref"]]
        resolved = self.resolve(value)
        if resolved is None:
            raise ValueError(f"CorsConfiguration value {value!r} has no local meaning")
        return resolved

    def _cors_list(self, value: Any, parameters: Mapping[str, str]) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, list):
            return tuple(self._cors_value(item, parameters) for item in value)
        text = self._cors_value(value, parameters)
        name = value.get("Ref") if isinstance(value, dict) else None
        parameter = (self.raw.get("Parameters") or {}).get(name) if name else None
        kind = str(parameter.get("Type", "")) if isinstance(parameter, dict) else ""
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            return tuple(part.strip() for part in text.split(",") if part.strip())
        return (text,)

    def local_environment(self, spec: FunctionSpec, resources: Mapping[str, str]) -> dict[str, str]:
        """The function's environment with every value that has a local meaning."""
        resolved = {
            name: self.resolve(value, resources) for name, value in spec.environment.items()
        }
        return {name: value for name, value in resolved.items() if value is not None}


def _bus_of(value: Any, buses: set[str]) -> str | None:
    """The bus logical id an EventBusName names: `!Ref Bus`, `!GetAtt Bus.Name` or `.Arn`."""
    if isinstance(value, dict) and value.get("Ref") in buses:
        return str(value["Ref"])
    target = value.get("Fn::GetAtt") if isinstance(value, dict) else None
    if isinstance(target, str):
        target = target.split(".")
    if isinstance(target, list) and len(target) == 2 and target[0] in buses:
        return str(target[0]) if target[1] in ("Name", "Arn") else None
    return None


def _function_arn_of(value: Any, functions: Mapping[str, Any]) -> str | None:
    """The function a target's `!GetAtt Function.Arn` names, else None."""
    target = value.get("Fn::GetAtt") if isinstance(value, dict) else None
    if isinstance(target, str):
        target = target.split(".")
    if isinstance(target, list) and len(target) == 2 and target[1] == "Arn":
        return str(target[0]) if target[0] in functions else None
    return None


def _rule(
    name: str,
    properties: Mapping[str, Any],
    pattern_key: str,
    buses: set[str],
    functions: tuple[str, ...],
) -> EventRule | None:
    bus = _bus_of(properties.get("EventBusName"), buses)
    pattern = properties.get(pattern_key)
    if isinstance(pattern, str):
        pattern = json.loads(pattern)
    enabled = properties.get("Enabled", True) is not False and properties.get("State") not in (
        "DISABLED",
        False,
    )
    if bus is None or not isinstance(pattern, dict) or not functions or not enabled:
        return None
    return EventRule(name=name, bus=bus, pattern=pattern, functions=functions)


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (key,) = value
    return key == "Ref" or str(key).startswith("Fn::")


def _http_api_auth(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """The `Auth` block of the template's HttpApi (Globals.HttpApi's when it has none)."""
    shared = ((raw.get("Globals") or {}).get("HttpApi") or {}).get("Auth") or {}
    for resource in (raw.get("Resources") or {}).values():
        if isinstance(resource, dict) and resource.get("Type") == HTTP_API_TYPE:
            auth = (resource.get("Properties") or {}).get("Auth")
            if isinstance(auth, dict):
                return {**shared, **auth}
    return shared


def _route_authorization(
    event_properties: Mapping[str, Any], default_authorizer: str | None
) -> tuple[str | None, tuple[str, ...]]:
    """(authorizer, scopes) of one HttpApi event, as SAM resolves them."""
    auth = event_properties.get("Auth") or {}
    name = auth.get("Authorizer", default_authorizer)
    if name is None or name == "NONE":
        return None, ()
    return str(name), tuple(str(scope) for scope in auth.get("AuthorizationScopes") or ())


def _merged_environment(
    globals_: Mapping[str, Any], properties: Mapping[str, Any]
) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for source in (globals_, properties):
        variables.update((source.get("Environment") or {}).get("Variables") or {})
    return variables


def _layer_dirs(raw: Mapping[str, Any], layers: list[Any], root: Path) -> tuple[Path, ...]:
    """Local folders of the layers a function uses. SAM builds a Python layer's ContentUri into
    /opt/python; a folder that already has python/ inside is used as it is packaged."""
    dirs: list[Path] = []
    for layer in layers:
        name = layer.get("Ref") if isinstance(layer, dict) else None
        resource = raw.get("Resources", {}).get(name) if isinstance(name, str) else None
        if not isinstance(resource, dict):
            continue  # an external layer ARN has no local code
        content = resource.get("Properties", {}).get("ContentUri")
        if not isinstance(content, str):
            continue
        folder = (root / content).resolve()
        dirs.append(folder / "python" if (folder / "python").is_dir() else folder)
    return tuple(dirs)


def _function(
    logical_id: str,
    properties: Mapping[str, Any],
    globals_: Mapping[str, Any],
    raw: Mapping[str, Any],
    root: Path,
) -> FunctionSpec:
    handler = str(properties.get("Handler", globals_.get("Handler", "")))
    module, _, function = handler.rpartition(".")
    routes: list[HttpRoute] = []
    schedules: list[Schedule] = []
    queue_sources: list[QueueSource] = []
    default_authorizer = _http_api_auth(raw).get("DefaultAuthorizer")
    for name, event in (properties.get("Events") or {}).items():
        kind = event.get("Type")
        event_properties = event.get("Properties") or {}
        if kind == "HttpApi":
            authorizer, scopes = _route_authorization(event_properties, default_authorizer)
            routes.append(
                HttpRoute(
                    method=str(event_properties.get("Method", "ANY")).upper(),
                    path=str(event_properties.get("Path", "$default")),
                    authorizer=authorizer,
                    scopes=scopes,
                )
            )
        elif kind in ("Schedule", "ScheduleV2"):
            enabled = event_properties.get("Enabled", event_properties.get("State", True))
            schedules.append(
                Schedule(
                    name=str(name),
                    expression=str(
                        event_properties.get(
                            "Schedule", event_properties.get("ScheduleExpression", "")
                        )
                    ),
                    enabled=enabled not in (False, "DISABLED"),
                )
            )
        elif kind == "SQS":
            queue = event_properties.get("Queue")
            # !GetAtt Queue.Arn, as the template writes it
            target = queue.get("Fn::GetAtt") if isinstance(queue, dict) else None
            if isinstance(target, str):
                target = target.split(".")
            if isinstance(target, list) and target:
                batch = int(event_properties.get("BatchSize", 10))
                queue_sources.append(QueueSource(queue=str(target[0]), batch_size=batch))
    layers = list(globals_.get("Layers") or []) + list(properties.get("Layers") or [])
    return FunctionSpec(
        logical_id=logical_id,
        code_dir=(root / str(properties.get("CodeUri", globals_.get("CodeUri", ".")))).resolve(),
        handler_module=module,
        handler_function=function,
        environment=_merged_environment(globals_, properties),
        layer_dirs=_layer_dirs(raw, layers, root),
        routes=tuple(routes),
        schedules=tuple(schedules),
        queue_sources=tuple(queue_sources),
        memory_mb=int(properties.get("MemorySize", globals_.get("MemorySize", 128))),
        timeout_seconds=int(properties.get("Timeout", globals_.get("Timeout", 3))),
    )


# create_table arguments whose CloudFormation and API shapes are the same.
_TABLE_ARGUMENTS = (
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "ProvisionedThroughput",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
)


def _table(template: Template, logical_id: str, resource: Mapping[str, Any]) -> TableSpec:
    properties = resource.get("Properties") or {}
    name = template.resolve(properties.get("TableName")) if "TableName" in properties else None
    local_name = name or f"{LOCAL_STACK_NAME}-{logical_id}"
    if resource["Type"] == "AWS::Serverless::SimpleTable":
        key = properties.get("PrimaryKey") or {"Name": "id", "Type": "String"}
        attribute_type = {"String": "S", "Number": "N", "Binary": "B"}[key.get("Type", "String")]
        arguments: dict[str, Any] = {
            "AttributeDefinitions": [
                {"AttributeName": key["Name"], "AttributeType": attribute_type}
            ],
            "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
        }
        ttl = None
    else:
        arguments = {key: properties[key] for key in _TABLE_ARGUMENTS if key in properties}
        arguments.setdefault("BillingMode", "PAY_PER_REQUEST")
        ttl_spec = properties.get("TimeToLiveSpecification") or {}
        ttl = ttl_spec.get("AttributeName") if ttl_spec.get("Enabled", True) else None
    return TableSpec(
        logical_id=logical_id,
        local_name=local_name,
        create_arguments=arguments,
        ttl_attribute=ttl if isinstance(ttl, str) else None,
    )


def parse_template(path: Path = TEMPLATE_PATH) -> Template:
    raw = load_yaml(path)
    root = path.parent
    globals_ = (raw.get("Globals") or {}).get("Function") or {}
    resources = raw.get("Resources") or {}
    functions = {
        logical_id: _function(logical_id, resource.get("Properties") or {}, globals_, raw, root)
        for logical_id, resource in resources.items()
        if resource.get("Type") == FUNCTION_TYPE
    }
    template = Template(path=path, raw=raw, functions=functions, tables={})
    tables = {
        logical_id: _table(template, logical_id, resource)
        for logical_id, resource in resources.items()
        if resource.get("Type") in TABLE_TYPES
    }
    return Template(path=path, raw=raw, functions=functions, tables=tables)


@cache
def load_template() -> Template:
    """The repository's template.yaml, parsed once per process."""
    return parse_template(TEMPLATE_PATH)


def local_resource_values(template: Template) -> dict[str, str]:
    """What a !Ref to a resource means locally: a table's local name (more kinds as needed)."""
    return {logical_id: table.local_name for logical_id, table in template.tables.items()}
