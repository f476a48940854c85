"""Quantities written as exact JSON numbers, by both serialization paths."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from inventory.models.numbers import Quantity, exact_json


def dumps(value: object) -> str:
    """What http.py's serializer does with a validated answer: json.dumps, then exact_json."""
    return exact_json(json.dumps(value, separators=(",", ":")).encode()).decode()


class Figures(BaseModel):
    name: str
    amount: Quantity
    spare: Quantity | None = None


decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: abs(d.adjusted()) < 40
)


@given(amount=decimals, name=st.text())
def test_both_paths_write_the_decimal_itself(amount: Decimal, name: str) -> None:
    figures = Figures(name=name, amount=amount)
    by_pydantic = exact_json(figures.model_dump_json().encode()).decode()
    by_resolver = dumps(figures.model_dump(mode="json"))
    for text in (by_pydantic, by_resolver):
        parsed = json.loads(text, parse_float=Decimal)
        assert parsed["amount"] == amount
        assert parsed["name"] == name  # text around the numbers is untouched


def test_whole_values_are_integers_and_the_rest_plain_decimals() -> None:
    text = dumps(
        Figures(name="Limes", amount=Decimal("9.000"), spare=Decimal("0.25")).model_dump(
            mode="json"
        )
    )
    assert text == '{"name":"Limes","amount":9,"spare":0.25}'


def test_a_non_finite_quantity_is_an_error_not_invalid_json() -> None:
    with pytest.raises(ValueError, match="not a JSON number"):
        # Validation refuses NaN; a figure read from the database skips it.
        Figures.model_construct(name="x", amount=Decimal("NaN")).model_dump_json()


def test_the_schema_says_number() -> None:
    schema = Figures.model_json_schema(mode="serialization")
    assert schema["properties"]["amount"] == {"type": "number", "title": "Amount"}


@pytest.mark.parametrize("text", ['x"\x001.5', 'a"\x002"b'])
def test_a_string_with_an_escaped_quote_before_nul_and_digits_stays_text(text: str) -> None:
    # Only a value is unquoted, never the inside of a string (callers.py keeps NUL out of the
    # identifiers an answer echoes, so no string starts with one).
    body = json.dumps({"note": text, "amount": 1}, separators=(",", ":")).encode()
    assert json.loads(exact_json(body)) == {"note": text, "amount": 1}
