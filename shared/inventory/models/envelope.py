"""The response envelope every endpoint uses: success with data, or failure with an error."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, Field

DataT = TypeVar("DataT")


class Envelope(BaseModel, Generic[DataT]):
    success: Literal[True] = True
    data: DataT


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. not_found.")
    message: str = Field(description="What went wrong, for a person.")


class ErrorEnvelope(BaseModel):
    success: Literal[False] = False
    error: ErrorDetail


def ok(data: DataT) -> Envelope[DataT]:
    return Envelope[DataT](data=data)
