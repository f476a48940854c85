"""Availability computed entirely in Python: the reference the SQL statements are checked
against, and how tests turn package specs into the snapshots the alert rules read."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction

from inventory.rules.availability import (
    Bottleneck,
    Component,
    PackageAvailability,
    PackageSpec,
    classify,
    floor_non_negative,
)


def par_baseline(components: Iterable[Component]) -> int | None:
    """Packages the par levels would allow: the "normal" when none is set explicitly."""
    ratios = [
        Fraction(c.par_level) / Fraction(c.quantity) for c in components if c.par_level is not None
    ]
    return math.floor(min(ratios)) if ratios else None


def baseline_for(normal_max_sellable: int | None, components: Iterable[Component]) -> int | None:
    if normal_max_sellable is not None:
        return normal_max_sellable
    return par_baseline(components)


def limiting_components(components: Sequence[Component]) -> list[Component]:
    """Every component whose ratio is the minimum, ordered by (name, id)."""
    if not components:
        return []
    lowest = min(c.ratio for c in components)
    tied = [c for c in components if c.ratio == lowest]
    return sorted(tied, key=lambda c: (c.product_name, str(c.product_id)))


def evaluate_package(spec: PackageSpec, threshold: Decimal) -> PackageAvailability:
    """Availability of one package, computed entirely in Python."""
    baseline = baseline_for(spec.normal_max_sellable, spec.components)
    limiting = limiting_components(spec.components)
    max_sellable = floor_non_negative(limiting[0].ratio) if limiting else None
    first = limiting[0] if limiting else None
    return PackageAvailability(
        package_id=spec.package_id,
        package_name=spec.package_name,
        max_sellable=max_sellable,
        status=classify(
            max_sellable,
            baseline,
            threshold,
            has_components=bool(spec.components),
            is_active=spec.is_active,
        ),
        baseline=baseline,
        bottleneck=(
            Bottleneck(
                first.product_id,
                first.product_name,
                first.current_stock,
                first.quantity,
                first.is_active,
            )
            if first
            else None
        ),
        limiting_product_ids=tuple(c.product_id for c in limiting),
    )
