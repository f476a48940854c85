"""One OpenAPI 3.1 document for the whole HTTP API, merged from every function's resolver.

Each function's `app.py` (found through template.yaml) is imported by path and asked for its
own document (Powertools `get_openapi_json_schema`, with the security schemes the module
declares in `OPENAPI_SECURITY_SCHEMES`); paths, component schemas and security schemes are
merged, schemas nothing refers to are dropped, keys are sorted so the committed file diffs
cleanly. Operation ids, tags and schema names come from the handlers and models; the few rules
the generator adds itself are `_required_constants`, `_public_operation` and, from
template.yaml's JWT authorizer, `_with_access_control`: the OAuth 2.0 client-credentials
scheme with the resource server's scopes, each protected operation's scopes and API Gateway's
401/403 answers.

Usage: python -m devtools.openapi [--check]   (writes openapi.json; --check only compares)
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from collections.abc import Iterator
from typing import Any

from devtools.lambda_runtime import load_function_module
from devtools.template import ROOT, Template, load_template

OPENAPI_PATH = ROOT / "openapi.json"
TITLE = "Inventory automation API"
DESCRIPTION = (
    "Real-time package availability for the POS, stock notifications and the monitor job of "
    "a bar or restaurant inventory.\n\n"
    "Every operation but the health check and the cron route needs an OAuth 2.0 access token "
    "with its scope (`inventoryOAuth`), checked by API Gateway before any handler runs: 401 "
    '`{"message": "Unauthorized"}` without a valid one, 403 `{"message": "Forbidden"}` '
    "without the scope.\n\n"
    'Every response is JSON: `{"success": true, "data": ...}` or `{"success": false, '
    '"error": {"code", "message"}}` with 400 (malformed parameter or body), 401 (missing or '
    "wrong credentials), 404 (unknown id), 422 (well-formed but invalid), 503 (a dependency is "
    "down, with `Retry-After`). A 429 comes from API Gateway's throttling, before any handler, "
    'with its own body `{"message": "Too Many Requests"}`. Generated from the handlers by '
    "`make openapi`; do not edit by hand."
)
# Every operation's tags must be one of these (the handlers name them; `merge` checks).
TAGS = (
    ("Availability", "How many of each package can be sold now, and what limits them."),
    ("POS", "Checks the point of sale makes before it sells."),
    (
        "Stock",
        "The stock ledger: receipts, waste, corrections and counts recorded, and every "
        "product's history of stock changes, whoever wrote them.",
    ),
    ("Notifications", "Manual stock checks that notify, and the notification cooldowns."),
    ("Inbox", "Stored notifications: read them, page through them, mark them read."),
    ("Subscriptions", "Who gets which notifications: e-mail, webhook or Slack, filters, timing."),
    ("Monitor", "The inventory monitor, for external schedulers."),
    ("Health", "Whether the service's dependencies answer."),
)
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
OAUTH_SCHEME = "inventoryOAuth"
LOCAL_TOKEN_URL = "http://127.0.0.1:3000/oauth2/token"  # noqa: S105 (a URL)
_GATEWAY_REFUSALS = {
    "401": (
        "GatewayUnauthorized",
        "Unauthorized",
        "API Gateway's JWT authorizer: no token, or one it cannot accept (signature, issuer, "
        "audience, expiry); `www-authenticate` says why",
    ),
    "403": (
        "GatewayForbidden",
        "Forbidden",
        "API Gateway's JWT authorizer: a valid token without one of the operation's scopes",
    ),
}


def _version() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return str(project["version"])


def function_documents(template: Template) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, that function's own OpenAPI document) for every HTTP function."""
    for logical_id, spec in sorted(template.functions.items()):
        if not spec.routes:
            continue
        module = load_function_module(spec)
        app = getattr(module, "app", None)
        if app is None or not hasattr(app, "get_openapi_json_schema"):
            raise TypeError(f"{logical_id}: {spec.handler_path} has no Powertools resolver `app`")
        text = app.get_openapi_json_schema(
            title=TITLE,
            version=_version(),
            security_schemes=getattr(module, "OPENAPI_SECURITY_SCHEMES", None),
        )
        yield logical_id, json.loads(text)


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield item.rsplit("/", 1)[-1]
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _reachable_schemas(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """The component schemas the paths use, directly or through other schemas."""
    keep: set[str] = set()
    pending = list(_references(paths))
    while pending:
        name = pending.pop()
        if name in keep or name not in schemas:
            continue
        keep.add(name)
        pending.extend(_references(schemas[name]))
    return {name: schemas[name] for name in sorted(keep)}


# Powertools documents a failed response validation with its own ResponseValidationError body,
# but the shared exception handler (inventory.http) answers it, as any unexpected error, with
# the error envelope: the document says what the client really gets.
_UNEXPECTED_ERROR = {
    "description": "Unexpected failure; the details are in the log, never in the response",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
}


def _sorted_responses(operation: dict[str, Any]) -> dict[str, Any]:
    responses = operation.get("responses") or {}
    for code, response in responses.items():
        if "ResponseValidationError" in set(_references(response)):
            responses[code] = _UNEXPECTED_ERROR
    operation["responses"] = {code: responses[code] for code in sorted(responses)}
    return operation


def _public_operation(operation: dict[str, Any]) -> dict[str, Any]:
    """An operation that declares no security says so (`security: []`): public, not forgotten.
    The cron route has its own token (SPEC §6); the authorizer's routes get theirs from
    `_with_access_control`."""
    operation.setdefault("security", [])
    return operation


def _checked_operation(method: str, path: str, operation: dict[str, Any]) -> dict[str, Any]:
    known = {name for name, _ in TAGS}
    tags = operation.get("tags") or []
    if not tags or not set(tags) <= known:
        raise ValueError(f"{method.upper()} {path}: tags {tags} must be among {sorted(known)}")
    body = operation.get("requestBody")
    if body is not None:
        body.setdefault("required", False)  # Powertools writes only `required: true`
    return _public_operation(_sorted_responses(operation))


def _required_constants(schemas: dict[str, Any], request_schemas: set[str]) -> None:
    """A response property that can hold one value only (a `Literal`, so `const`) is always
    sent, since pydantic writes defaults: the envelopes' `success`, the checks' `type`. The
    document says so (`required`), so clients can rely on it and discriminate on `type`.
    Request bodies keep such a default optional."""
    for name, schema in schemas.items():
        if name in request_schemas:
            continue
        properties = schema.get("properties", {})
        constants = [key for key, value in properties.items() if "const" in value]
        missing = [key for key in constants if key not in schema.get("required", [])]
        if missing:
            schema["required"] = [*missing, *schema.get("required", [])]


def _request_schemas(paths: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    """The schemas a request body or parameter uses, directly or through other schemas."""
    requests = [
        {"body": operation.get("requestBody"), "parameters": operation.get("parameters")}
        for operations in paths.values()
        for operation in operations.values()
    ]
    return set(_reachable_schemas({"requests": requests}, schemas))


def _merge_named(
    kind: str, into: dict[str, Any], owners: dict[str, str], items: dict[str, Any], owner: str
) -> None:
    for name, item in items.items():
        if name in into and into[name] != item:
            raise ValueError(f"{kind} {name!r} differs between {owners[name]} and {owner}")
        into[name] = item
        owners.setdefault(name, owner)


def merge(documents: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """One document; two functions defining one operation, or one schema (or security scheme)
    name two ways, is an error rather than a silent overwrite."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    security_schemes: dict[str, Any] = {}
    owners: dict[str, str] = {}
    scheme_owners: dict[str, str] = {}
    operation_ids: dict[str, str] = {}
    for logical_id, document in documents:
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                if method in paths.get(path, {}):
                    raise ValueError(f"{method.upper()} {path} is defined twice ({logical_id})")
                operation_id = operation["operationId"]
                if operation_id in operation_ids:
                    raise ValueError(f"operationId {operation_id!r} is used twice ({logical_id})")
                operation_ids[operation_id] = logical_id
                paths.setdefault(path, {})[method] = _checked_operation(method, path, operation)
        components = document.get("components", {})
        _merge_named("schema", schemas, owners, components.get("schemas", {}), logical_id)
        _merge_named(
            "security scheme",
            security_schemes,
            scheme_owners,
            components.get("securitySchemes", {}),
            logical_id,
        )
    ordered_paths = {
        path: {m: paths[path][m] for m in HTTP_METHODS if m in paths[path]}
        for path in sorted(paths)
    }
    reachable = _reachable_schemas(ordered_paths, schemas)
    _required_constants(reachable, _request_schemas(ordered_paths, reachable))
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": _version(), "description": DESCRIPTION},
        "servers": [{"url": "http://127.0.0.1:3000", "description": "make run"}],
        "tags": [{"name": name, "description": description} for name, description in TAGS],
        "paths": ordered_paths,
        "components": {
            "schemas": reachable,
            "securitySchemes": {name: security_schemes[name] for name in sorted(security_schemes)},
        },
    }
    return merged


def _scope_descriptions(template: Template) -> dict[str, str]:
    """Every scope the template's Cognito resource server declares, with its description."""
    scopes: dict[str, str] = {}
    for resource in (template.raw.get("Resources") or {}).values():
        if resource.get("Type") != "AWS::Cognito::UserPoolResourceServer":
            continue
        properties = resource.get("Properties") or {}
        for scope in properties.get("Scopes") or []:
            name = f"{properties['Identifier']}/{scope['ScopeName']}"
            scopes[name] = str(scope.get("ScopeDescription", name))
    return scopes


def _with_access_control(document: dict[str, Any], template: Template) -> dict[str, Any]:
    """The template's authorizer in the document: the scheme, each operation's scopes (any
    one suffices, as API Gateway checks them), API Gateway's 401 and 403 bodies."""
    routes = {(route.method.lower(), route.path): route for route in template.http_routes}
    scopes = _scope_descriptions(template)
    protected = False
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            route = routes.get((method, path))
            if route is None or route.authorizer is None:
                continue
            if operation.get("security"):
                raise ValueError(f"{method.upper()} {path}: its own security and the authorizer")
            unknown = set(route.scopes) - set(scopes)
            if unknown:
                raise ValueError(f"{method.upper()} {path}: scopes {unknown} not declared")
            protected = True
            # One requirement per scope: alternatives, as any one of the route's scopes will do.
            operation["security"] = [{OAUTH_SCHEME: [scope]} for scope in route.scopes] or [
                {OAUTH_SCHEME: []}
            ]
            for status, (schema, _, description) in _GATEWAY_REFUSALS.items():
                operation["responses"][status] = {
                    "description": description,
                    "headers": {
                        "www-authenticate": {
                            "description": 'The Bearer challenge, e.g. `Bearer scope="" '
                            'error="invalid_token" error_description="the token has expired"`.',
                            "schema": {"type": "string"},
                        }
                    },
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
                    },
                }
            operation["responses"] = {
                code: operation["responses"][code] for code in sorted(operation["responses"])
            }
    if not protected:
        return document
    components = document["components"]
    for schema, message, description in _GATEWAY_REFUSALS.values():
        components["schemas"][schema] = {
            "title": schema,
            "description": description + ".",
            "type": "object",
            "properties": {"message": {"type": "string", "const": message}},
            "required": ["message"],
            "examples": [{"message": message}],
        }
    components["schemas"] = {
        name: components["schemas"][name] for name in sorted(components["schemas"])
    }
    components["securitySchemes"][OAUTH_SCHEME] = {
        "type": "oauth2",
        "description": (
            "API Gateway's JWT authorizer. Get an access token with the client-credentials "
            "grant from the stack's Cognito token endpoint (output `TokenEndpoint`; the app "
            "client's id and secret as HTTP Basic) or your own IdP, and send it as "
            "`Authorization: Bearer <token>`. Under `make run`, the local issuer's endpoint "
            "below (or `make token`)."
        ),
        "flows": {"clientCredentials": {"tokenUrl": LOCAL_TOKEN_URL, "scopes": scopes}},
    }
    components["securitySchemes"] = {
        name: components["securitySchemes"][name] for name in sorted(components["securitySchemes"])
    }
    return document


def generate(template: Template | None = None) -> dict[str, Any]:
    template = template or load_template()
    return _with_access_control(merge(list(function_documents(template))), template)


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def template_operations(template: Template) -> set[tuple[str, str]]:
    """(METHOD, path) of every HttpApi route of the template."""
    return {
        (route.method, route.path) for spec in template.functions.values() for route in spec.routes
    }


def document_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in document.get("paths", {}).items()
        for method in operations
        if method in HTTP_METHODS
    }


def path_parameters(path: str) -> list[str]:
    return re.findall(r"\{([^}]+)\}", path)


def main(argv: list[str]) -> int:
    text = render(generate())
    if "--check" in argv:
        if not OPENAPI_PATH.exists() or OPENAPI_PATH.read_text() != text:
            print("openapi.json is stale: run `make openapi` and commit it.", file=sys.stderr)
            return 1
        print("openapi.json is up to date.")
        return 0
    OPENAPI_PATH.write_text(text)
    document = json.loads(text)
    count = len(document_operations(document))
    print(f"wrote {OPENAPI_PATH.relative_to(ROOT)} ({count} operations)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
