"""A brute-force statement of SPEC §3, written independently of the code under test.

Deliberately naive: every ratio as an exact Fraction, every choice by sorting everything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from uuid import UUID

from inventory.rules.availability import PackageAvailability, PackageSpec


@dataclass(frozen=True)
class Expected:
    max_sellable: int | None
    status: str
    baseline: int | None
    bottleneck_id: UUID | None
    limiting_ids: tuple[UUID, ...]


def expected_availability(spec: PackageSpec, threshold: Decimal) -> Expected:
    ratios = []
    for c in spec.components:
        stock = Fraction(c.current_stock) if c.is_active else Fraction(0)
        ratios.append((stock / Fraction(c.quantity), c.product_name, str(c.product_id), c))
    pars = [Fraction(c.par_level) / Fraction(c.quantity) for c in spec.components if c.par_level]
    if spec.normal_max_sellable is not None:
        baseline: int | None = spec.normal_max_sellable
    elif pars:
        baseline = math.floor(sorted(pars)[0])
    else:
        baseline = None
    if not ratios:
        status = "inactive" if not spec.is_active else "no_components"
        return Expected(None, status, baseline, None, ())
    smallest = sorted(r[0] for r in ratios)[0]
    tied = sorted((r for r in ratios if r[0] == smallest), key=lambda r: (r[1], r[2]))
    max_sellable = math.floor(smallest) if smallest > 0 else 0
    if not spec.is_active:
        status = "inactive"
    elif max_sellable == 0:
        status = "unavailable"
    elif baseline is not None and Fraction(max_sellable) < Fraction(threshold) * baseline:
        status = "low_stock"
    else:
        status = "available"
    ids = tuple(r[3].product_id for r in tied)
    return Expected(max_sellable, status, baseline, ids[0], ids)


def assert_matches(actual: PackageAvailability, expected: Expected) -> None:
    assert actual.max_sellable == expected.max_sellable
    assert actual.status == expected.status
    assert actual.baseline == expected.baseline
    assert actual.limiting_product_ids == expected.limiting_ids
    assert (actual.bottleneck.product_id if actual.bottleneck else None) == expected.bottleneck_id
