"""The pure availability path agrees with the brute-force oracle on random catalogues."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings

from inventory.rules.availability import PackageSpec, evaluate_package
from tests.support.oracle import expected_availability
from tests.support.strategies import catalogs, thresholds


@settings(max_examples=2000)
@given(catalog=catalogs(), threshold=thresholds)
def test_pure_rules_match_the_oracle(catalog: list[PackageSpec], threshold: Decimal) -> None:
    for spec in catalog:
        expected = expected_availability(spec, threshold)
        actual = evaluate_package(spec, threshold)
        assert actual.max_sellable == expected.max_sellable
        assert actual.status == expected.status
        assert actual.baseline == expected.baseline
        assert actual.limiting_product_ids == expected.limiting_ids
        assert (actual.bottleneck.product_id if actual.bottleneck else None) == (
            expected.bottleneck_id
        )
