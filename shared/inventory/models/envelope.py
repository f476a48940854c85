"""The response envelope every endpoint uses: success with data, or failure with an error."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from inventory.errors import ErrorCode, FieldProblem, Location

DataT = TypeVar("DataT")


# Every field of an answer is always present: the document says so (required), so generated
# clients need no null checks.
_ANSWER = ConfigDict(json_schema_serialization_defaults_required=True)


class Envelope(BaseModel, Generic[DataT]):
    model_config = _ANSWER

    success: Literal[True] = True
    data: DataT


class FieldError(BaseModel):
    location: Location = Field(alias="in", description="Where the field is.")
    field: str = Field(
        description="A JSON pointer into the body (`/items/0/quantity`), or the parameter's "
        "name (`limit`)."
    )
    message: str = Field(description="What is wrong with it, for a person.")

    model_config = ConfigDict(
        populate_by_name=True,
        serialize_by_alias=True,
        json_schema_serialization_defaults_required=True,
    )

    @classmethod
    def of(cls, problem: FieldProblem) -> FieldError:
        return cls(location=problem.location, field=problem.field, message=problem.message)


class ErrorDetail(BaseModel):
    model_config = _ANSWER

    code: ErrorCode = Field(description="Stable machine-readable code (README's error table).")
    message: str = Field(description="What went wrong, for a person.")
    details: list[FieldError] = Field(
        default_factory=list, description="The refused fields, when the request names any."
    )


class ErrorEnvelope(BaseModel):
    model_config = _ANSWER

    success: Literal[False] = False
    error: ErrorDetail


def ok(data: DataT) -> Envelope[DataT]:
    return Envelope[DataT](data=data)
