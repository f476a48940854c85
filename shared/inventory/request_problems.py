"""What request validation refused, as the API reports it: status, code and the fields.

Pure: from the validator's error list (pydantic's shape) and the body as parsed, decide 400
`malformed_request` (the request is not in the route's shape: a field missing or unknown, a
value of the wrong type, a body that is not JSON) or 422 `validation_error` (the shape is
right, a value is refused), and name each field without the validator's internal tags.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from inventory.errors import ErrorCode, FieldProblem, Location

# Error types that say the shape is wrong; pydantic names every type error `*_type` and every
# unparsable value `*_parsing`.
_SHAPE = frozenset(
    {
        "json_invalid",
        "missing",
        "extra_forbidden",
        "cart_line",  # our line discriminator: a line with neither id
        "union_tag_invalid",
        "union_tag_not_found",
        "unsupported_content_type",
        "is_instance_of",
    }
)
_LOCATIONS: dict[str, Location] = {
    "body": "body",
    "query": "query",
    "path": "path",
    "header": "header",
}


@dataclass(frozen=True, slots=True)
class Refusal:
    status: HTTPStatus
    code: ErrorCode
    message: str
    details: tuple[FieldProblem, ...]


def is_shape_error(error_type: str) -> bool:
    return error_type in _SHAPE or error_type.endswith(("_type", "_parsing"))


def _pointer(parts: Iterable[str]) -> str:
    """RFC 6901: `~` as `~0`, `/` as `~1`."""
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def _field_path(location: Sequence[Any], document: Any) -> list[str]:
    """The parts of a body location that name fields of the document sent. The validator adds
    tags of its own (a union member's name, a validator's); they are no key of the document,
    so they are left out. The last part stays: a missing field is in no document."""
    path: list[str] = []
    current = document
    for index, part in enumerate(location):
        found, inside = _step(current, part)
        if found:
            current = inside
        elif index < len(location) - 1:
            continue  # a tag of the validator's
        path.append(str(part))
    return path


def _step(current: Any, part: Any) -> tuple[bool, Any]:
    """Whether `part` is a key (or index) of `current`, and what it holds."""
    if isinstance(current, Mapping) and isinstance(part, str) and part in current:
        return True, current[part]
    if isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
        return True, current[part]
    return False, None


def _problem(item: Mapping[str, Any], document: Any) -> FieldProblem:
    location = list(item.get("loc", ()))
    where = _LOCATIONS.get(str(location[0]), "body") if location else "body"
    message = str(item.get("msg", "is invalid"))
    if where != "body":
        name = ".".join(str(part) for part in location[1:])
        return FieldProblem(where, name, message)
    inside = location[1:]
    if not inside and item.get("type") == "missing":
        message = "The request needs a JSON body."
    elif item.get("type") == "json_invalid":
        message = "The request body is not valid JSON."
    return FieldProblem("body", _pointer(_field_path(inside, document)), message)


def refusal(errors: Sequence[Mapping[str, Any]], document: Any) -> Refusal:
    """The answer to a request that validation refused; `document` is the body as parsed
    (None when it was not JSON)."""
    problems = tuple(_problem(item, document) for item in errors)
    malformed = any(is_shape_error(str(item.get("type", ""))) for item in errors)
    if len(problems) == 1:
        message = problems[0].message  # its field is in details, for programs to read
    else:
        count = len(problems)
        noun = "field" if count == 1 else "fields"
        message = f"{count} {noun} refused; see details."
    if malformed:
        return Refusal(HTTPStatus.BAD_REQUEST, ErrorCode.MALFORMED_REQUEST, message, problems)
    return Refusal(HTTPStatus.UNPROCESSABLE_ENTITY, ErrorCode.VALIDATION_ERROR, message, problems)
