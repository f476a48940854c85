"""How refused requests are reported: 400 for the wrong shape, 422 for refused values, each
field named as the client wrote it."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from inventory.errors import ErrorCode, FieldProblem
from inventory.request_problems import is_shape_error, refusal


@pytest.mark.parametrize(
    "error_type",
    ["missing", "extra_forbidden", "int_parsing", "uuid_parsing", "bool_type", "number_type"],
)
def test_shape_errors_are_malformed(error_type: str) -> None:
    assert is_shape_error(error_type)
    answer = refusal([{"type": error_type, "loc": ("query", "limit"), "msg": "no"}], None)
    assert (answer.status, answer.code) == (HTTPStatus.BAD_REQUEST, ErrorCode.MALFORMED_REQUEST)


@pytest.mark.parametrize(
    "error_type", ["greater_than", "less_than_equal", "too_short", "decimal_max_places", "enum"]
)
def test_refused_values_are_422(error_type: str) -> None:
    assert not is_shape_error(error_type)
    answer = refusal([{"type": error_type, "loc": ("query", "limit"), "msg": "no"}], None)
    assert (answer.status, answer.code) == (
        HTTPStatus.UNPROCESSABLE_ENTITY,
        ErrorCode.VALIDATION_ERROR,
    )


def test_one_wrong_shape_among_refused_values_makes_the_request_malformed() -> None:
    errors = [
        {"type": "greater_than", "loc": ("body", "items", 0, "quantity"), "msg": "> 0"},
        {"type": "uuid_parsing", "loc": ("body", "items", 1, "package_id"), "msg": "uuid"},
    ]
    answer = refusal(errors, {"items": [{"quantity": 0}, {"package_id": "x"}]})
    assert answer.status is HTTPStatus.BAD_REQUEST
    assert answer.message == "2 fields refused; see details."


def test_the_validators_own_tags_are_left_out_of_the_field() -> None:
    document = {"items": [{"package_id": "p", "quantity": 0}]}
    location = ("body", "items", 0, "package", "function-after[check]", "quantity")
    [problem] = refusal([{"type": "greater_than", "loc": location, "msg": "> 0"}], document).details
    assert problem == FieldProblem("body", "/items/0/quantity", "> 0")


def test_a_missing_field_is_named_though_the_document_lacks_it() -> None:
    [problem] = refusal([{"type": "missing", "loc": ("body", "items"), "msg": "req"}], {}).details
    assert problem.field == "/items"


def test_field_names_are_escaped_as_json_pointers() -> None:
    document = {"a/b~c": 1}
    errors = [{"type": "extra_forbidden", "loc": ("body", "a/b~c"), "msg": "extra"}]
    assert refusal(errors, document).details[0].field == "/a~1b~0c"


def test_a_missing_body_points_at_the_whole_body() -> None:
    answer = refusal([{"type": "missing", "loc": ("body",), "msg": "Field required"}], None)
    assert answer.details == (FieldProblem("body", "", "The request needs a JSON body."),)
    assert answer.message == "The request needs a JSON body."
