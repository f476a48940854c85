"""Decimal quantities shown as JSON numbers.

Pydantic writes Decimal as a JSON string by default; a POS expects numbers. Integral values
become JSON integers and the rest floats, which round-trip the short decimals stock and
recipe quantities use (0.25, 38.5, 0.568).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import PlainSerializer


def json_number(value: Decimal) -> int | float:
    """The JSON number of a decimal: an integer when it is whole, else a float."""
    return int(value) if value == value.to_integral_value() else float(value)


Quantity = Annotated[
    Decimal, PlainSerializer(json_number, return_type=int | float, when_used="json")
]
