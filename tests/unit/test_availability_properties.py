"""The pure availability path agrees with the brute-force oracle on random catalogues."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings

from inventory.rules.availability import PackageSpec
from tests.support.availability_reference import evaluate_package
from tests.support.oracle import assert_matches, expected_availability
from tests.support.strategies import catalogs, thresholds


@settings(max_examples=2000)
@given(catalog=catalogs(), threshold=thresholds)
def test_pure_rules_match_the_oracle(catalog: list[PackageSpec], threshold: Decimal) -> None:
    for spec in catalog:
        assert_matches(evaluate_package(spec, threshold), expected_availability(spec, threshold))
