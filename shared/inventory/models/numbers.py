"""Decimal quantities shown as exact JSON numbers.

Pydantic writes Decimal as a JSON string, and a float would round what the engine computed
exactly (a shortfall of 0.000000000000002 is not 2e-15 of float noise). So a Quantity is
written as a JSON number with the decimal's own digits: whole values as integers; the rest is
marked during serialization (a string starting with NUL, which no stored text can hold) and
`exact_json` then turns each marked string into the bare number. Every JSON body that holds a
Quantity goes through `exact_json` (http.py's serializer and the cached bodies alike).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import PlainSerializer, WithJsonSchema

_MARK = "\x00"
# How JSON writes a marked string: the NUL escaped, then the decimal's digits; only as a value
# (after `:`, `,` or `[` in compact JSON, as both serializers write it), never inside a string
# that holds an escaped quote.
_MARKED = re.compile(rb'(?<=[:,\[])"\\u0000(-?[0-9]+(?:\.[0-9]+)?(?:E[-+]?[0-9]+)?)"')


def json_number(value: Decimal) -> int | float:
    """A decimal as a Python number for JSON kept beside the API (notification data)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _marked_number(value: Decimal) -> int | str:
    if not value.is_finite():
        raise ValueError(f"{value} is not a JSON number")
    if value == value.to_integral_value():
        return int(value)
    return _MARK + format(value, "f")  # plain digits: 0.000000000000002, not 2E-15


def exact_json(body: bytes) -> bytes:
    """A JSON text with every marked Quantity written as the number it is."""
    if b"\\u0000" not in body:
        return body
    return _MARKED.sub(rb"\1", body)


Quantity = Annotated[
    Decimal,
    PlainSerializer(_marked_number, return_type=Any, when_used="json"),
    WithJsonSchema({"type": "number"}, mode="serialization"),
]


def _marked_tree(value: Any) -> Any:
    """A JSON tree with every Decimal marked, so `exact_json` writes it with its own digits."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return _MARK + format(value, "f")
    if isinstance(value, dict):
        return {key: _marked_tree(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_marked_tree(item) for item in value]
    return value


# A JSON object read with its numbers as Decimals (stored figures, `notifications.data`),
# written back with the digits it was stored with.
ExactJsonObject = Annotated[
    dict[str, Any],
    PlainSerializer(_marked_tree, return_type=Any, when_used="json"),
    WithJsonSchema({"type": "object", "additionalProperties": True}, mode="serialization"),
]


def exact_dumps(value: Any) -> str:
    """A tree of plain JSON values as compact JSON text, every Decimal in it written as the
    exact number it is (never through a float)."""
    text = json.dumps(_marked_tree(value), separators=(",", ":"))
    return exact_json(text.encode()).decode()
