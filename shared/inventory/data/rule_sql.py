"""SQL of the availability rule (SPEC §3), written once and put into every statement using it.

Statements write `{usable_stock}`, `{exact_ratio}` or `{whole_packages}` where the rule goes,
with `p` naming products and `pi` package_items; `with_rules` puts the SQL in.
"""

from __future__ import annotations

from typing import LiteralString

# An inactive product counts as stock 0 (rules.availability.usable_stock).
USABLE_STOCK: LiteralString = "(CASE WHEN p.is_active THEN p.current_stock ELSE 0 END)"

# A component's ratio, usable stock / quantity per package, divided at scale 40: PostgreSQL
# rounds numeric division to the dividend's scale, and at 40 decimals two distinct ratios of
# values with up to 12 decimals never collide, while equal ratios (0.3/0.1 and 3/1) are
# identical. Property tests compare it against exact fractions.
EXACT_RATIO: LiteralString = USABLE_STOCK + "::numeric(1000, 40) / pi.quantity"

# The whole packages a component allows before clamping: div() is the exact truncated quotient,
# which equals floor() once negatives are clamped to 0 (quantities are positive).
WHOLE_PACKAGES: LiteralString = "div(" + USABLE_STOCK + ", pi.quantity)"


def with_rules(statement: LiteralString) -> LiteralString:
    """`statement` with the rule's SQL in place of its markers."""
    return (
        statement.replace("{usable_stock}", USABLE_STOCK)
        .replace("{exact_ratio}", EXACT_RATIO)
        .replace("{whole_packages}", WHOLE_PACKAGES)
    )
