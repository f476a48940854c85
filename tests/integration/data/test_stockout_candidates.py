"""The monitor's usage statement leaves out only products the stockout rule ignores."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.data.usage import fetch_stockout_candidates
from inventory.rules.alerts import RuleSettings
from tests.support.drafts import stockout_drafts
from tests.support.sales import insert_sales
from tests.support.usage_reference import fetch_product_figures

NOW = datetime(2025, 10, 21, 12, 0, tzinfo=UTC)
RULES = RuleSettings(
    package_low_stock_threshold=Decimal("0.2"),
    bottleneck_min_packages=2,
    stockout_prediction_days=Decimal("7"),
    stockout_lookback_days=28,
)
# With 28 days of lookback and 7 of prediction a product is due when usage > 4 x stock:
# stock 10 with usage 40 lasts exactly 7 days (not due), 40.000001 is just over the line.
STOCKS = [Decimal(v) for v in ("-1", "0", "0.5", "1", "2.5", "10", "100")]
USAGES = [Decimal(v) for v in ("0", "1", "2", "4", "10", "40", "40.000001", "400")]


products = st.lists(
    st.tuples(st.sampled_from(STOCKS), st.sampled_from(USAGES), st.booleans()),
    min_size=1,
    max_size=8,
)


def _insert(db: psycopg.Connection[Any], rows: list[tuple[Decimal, Decimal, bool]]) -> list[Any]:
    ids = [uuid.UUID(int=i + 1) for i in range(len(rows))]
    db.cursor().executemany(
        "INSERT INTO products (id, name, current_stock, is_active) VALUES (%s, %s, %s, %s)",
        [
            (product_id, f"P{n}", stock, active)
            for n, (product_id, (stock, _, active)) in enumerate(zip(ids, rows, strict=True))
        ],
    )
    sales = [
        ("product", i, usage, NOW - timedelta(days=1))
        for i, (_, usage, _) in zip(ids, rows, strict=True)
        if usage > 0
    ]
    insert_sales(db, sales)
    return ids


@settings(max_examples=300)
@given(rows=products)
def test_candidates_give_the_rule_the_same_stockout_drafts_as_every_product(
    db: psycopg.Connection[Any], rows: list[tuple[Decimal, Decimal, bool]]
) -> None:
    # The example's rows are rolled back whatever happens.
    with db.transaction(force_rollback=True):
        _insert(db, rows)
        candidates = fetch_stockout_candidates(
            db,
            NOW,
            lookback_days=RULES.stockout_lookback_days,
            prediction_days=RULES.stockout_prediction_days,
        )
        everything = fetch_product_figures(db, NOW, RULES.stockout_lookback_days)

        assert candidates.products_checked == sum(1 for _, _, active in rows if active)
        assert stockout_drafts(candidates.products, RULES, NOW) == stockout_drafts(
            everything, RULES, NOW
        )
        # Only products the rule alerts on, and those used lately that are out already (their
        # predicted stockout's episode goes on), each with the figures of the full read.
        full = {p.product_id: p for p in everything}
        alerted = {d.reference_id for d in stockout_drafts(everything, RULES, NOW)}
        ran_out = {
            p.product_id
            for p in everything
            if p.is_active and p.current_stock <= 0 and (p.usage or 0) > 0
        }
        assert {p.product_id for p in candidates.products} == alerted | ran_out
        for figures in candidates.products:
            assert figures == full[figures.product_id]


def test_a_product_lasting_exactly_the_prediction_window_is_left_out(
    db: psycopg.Connection[Any],
) -> None:
    on_the_line, just_over = _insert(
        db, [(Decimal(10), Decimal(40), True), (Decimal(10), Decimal("40.000001"), True)]
    )

    candidates = fetch_stockout_candidates(db, NOW, lookback_days=28, prediction_days=Decimal(7))

    assert [p.product_id for p in candidates.products] == [just_over]
    assert candidates.products_checked == 2
    assert on_the_line not in {p.product_id for p in candidates.products}


def test_no_candidates_still_reports_the_products_checked(db: psycopg.Connection[Any]) -> None:
    _insert(db, [(Decimal(100), Decimal(1), True), (Decimal(5), Decimal(0), False)])

    candidates = fetch_stockout_candidates(db, NOW, lookback_days=28, prediction_days=Decimal(7))

    assert candidates.products == []
    assert candidates.products_checked == 1
