"""Parsing and comparing the cron token, on plain values."""

from __future__ import annotations

import pytest

from inventory.cron_auth import bearer_token, token_matches


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("  Bearer   abc  ", "abc"),
        ("Bearer ", None),
        ("Bearer", None),
        ("Basic abc", None),
        ("abc", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_token_is_taken_only_from_the_bearer_scheme(
    header: str | None, token: str | None
) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize(
    ("presented", "expected"),
    [
        ("s3cret", True),
        ("s3cre", False),
        ("s3cret ", False),
        ("S3CRET", False),
        ("", False),
        (None, False),
        ("sécret", False),  # non-ASCII compares as bytes instead of raising
    ],
)
def test_token_matches_only_the_exact_secret(presented: str | None, expected: bool) -> None:
    assert token_matches(presented, "s3cret") is expected
