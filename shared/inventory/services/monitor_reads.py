"""What one monitor run reads: everything that can raise an alert, in one snapshot.

Healthy packages and products that last long enough never produce an alert, so SQL leaves them
out and counts them instead: the unavailable and low packages with what their alerts say about
their limiting products (data/availability_sql.py), and the products that may run out
(data/usage.py). Three statements on two connections sharing one exported snapshot
(data/db.py), at any catalogue size: a stock change committed meanwhile shows in every part or
in none. Why two connections and two halves: docs/performance.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from inventory.config import Settings
from inventory.data.availability_sql import (
    EVERY_PACKAGE,
    ProblemPackages,
    fetch_problem_packages,
    split,
)
from inventory.data.db import Connection, read_in_one_snapshot
from inventory.data.usage import StockoutCandidates, fetch_stockout_candidates


@dataclass(frozen=True, slots=True)
class AlertableSnapshot:
    """What can raise an alert, with the counts of everything checked."""

    problems: ProblemPackages
    candidates: StockoutCandidates


# Halves of the package ids, one per connection: a share tuned for the reader's extra usage
# read measured no better (docs/performance.md).
HALF = Fraction(1, 2)


def load_alertable(
    settings: Settings, now: datetime, *, after_export: Callable[[], object] | None = None
) -> AlertableSnapshot:
    """The problem packages in two halves of the package ids, one per connection, so the server
    aggregates them on two cores at once; the reader connection also reads the usage.
    `after_export` is a test seam (see read_in_one_snapshot)."""
    threshold = settings.package_low_stock_threshold
    lower, upper = split(EVERY_PACKAGE, HALF)

    def problems_in_lower_part(connection: Connection) -> ProblemPackages:
        return fetch_problem_packages(connection, threshold, lower)

    def candidates_and_upper_part(
        connection: Connection,
    ) -> tuple[StockoutCandidates, ProblemPackages]:
        candidates = fetch_stockout_candidates(
            connection,
            now,
            lookback_days=settings.stockout_lookback_days,
            prediction_days=settings.stockout_prediction_days,
        )
        return candidates, fetch_problem_packages(connection, threshold, upper)

    found, (predicted, found_above) = read_in_one_snapshot(
        problems_in_lower_part, candidates_and_upper_part, after_export=after_export
    )
    return AlertableSnapshot(found + found_above, predicted)
