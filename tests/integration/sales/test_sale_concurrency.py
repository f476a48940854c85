"""Sales at the same moment, each in a process of its own (tests/support/sale_workers.py),
through the real handler, PostgreSQL and moto's DynamoDB server: never oversold, never
deadlocked, and sold once per Idempotency-Key."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from tests.support.catalog import component, insert_catalog, package
from tests.support.events import FakeLambdaContext
from tests.support.pos_sales import answer, counts, ledger_sum, sell, stock
from tests.support.sale_workers import Sale, sold_together

LIMES = component("Limes", "0.5", 5)  # the limiting component: exactly 10 Mojitos
RUM = component("White rum", 50, 1000)  # 20 Mojitos
MINT = component("Mint", "0.1", 3)  # 30 Mojitos
MOJITO = package("Mojito", [LIMES, RUM, MINT])


def mojito() -> dict[str, Any]:
    return {"items": [{"package_id": str(MOJITO.package_id), "quantity": 1}]}


def sale_ledger(db: psycopg.Connection[Any], product_id: uuid.UUID) -> Decimal:
    row = db.execute(
        "SELECT coalesce(sum(quantity_delta), 0) FROM stock_movements"
        " WHERE product_id = %s AND kind = 'sale'",
        (product_id,),
    ).fetchone()
    assert row is not None
    return Decimal(row[0])


@pytest.fixture
def bar(db: psycopg.Connection[Any], idempotency_table: str) -> psycopg.Connection[Any]:
    insert_catalog(db, [MOJITO])
    return db


SALES = 50
SELLABLE = 10


@pytest.mark.slow
def test_fifty_simultaneous_sales_of_stock_for_ten_sell_exactly_ten_and_never_deadlock(
    bar: psycopg.Connection[Any],
) -> None:
    turns = [[Sale(mojito(), key=str(uuid.uuid4()))] for _ in range(SALES)]

    answers, deadlocked = sold_together(bar, turns)

    outcomes = Counter((a.status, a.error_code) for a in answers)
    assert outcomes == {(201, None): SELLABLE, (409, "insufficient_stock"): SALES - SELLABLE}, [
        a.body for a in answers if a.status != 201 and a.error_code != "insufficient_stock"
    ]
    assert deadlocked == 0
    assert stock(bar, LIMES.product_id) == 0
    for product in (LIMES, RUM, MINT):
        taken = SELLABLE * product.quantity
        assert stock(bar, product.product_id) == product.current_stock - taken
        assert sale_ledger(bar, product.product_id) == -taken
        assert ledger_sum(bar, product.product_id) == stock(bar, product.product_id)
    sold = [a.json["data"] for a in answers if a.status == 201]
    # One sale row, one order line and one movement per product for each 201, none else.
    assert counts(bar) == (SELLABLE, SELLABLE, 3 * SELLABLE)
    stored = {row[0] for row in bar.execute("SELECT DISTINCT sale_id FROM order_items")}
    assert stored == {uuid.UUID(s["sale_id"]) for s in sold}
    # The sales took the limes one after the other: each saw the level the one before left.
    limes = sorted(
        (d["version"], Decimal(str(d["stock_after"])))
        for s in sold
        for d in s["deducted"]
        if d["product_id"] == str(LIMES.product_id)
    )
    assert [level for _, level in limes] == [Decimal("0.5") * n for n in range(9, -1, -1)]
    assert len({version for version, _ in limes}) == SELLABLE


RETRIES = 20
# Long enough for every retry to arrive while the first is still selling.
HOLD_SECONDS = 1


@pytest.fixture
def slow_sales(bar: psycopg.Connection[Any]) -> Iterator[None]:
    """A sale's statement lingers on the server: the first request of a key stays in flight."""
    bar.execute(
        "CREATE FUNCTION linger() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN PERFORM pg_sleep({HOLD_SECONDS}); RETURN NULL; END $$"
    )
    bar.execute(
        "CREATE TRIGGER linger AFTER INSERT ON sales FOR EACH STATEMENT EXECUTE FUNCTION linger()"
    )
    yield
    bar.execute("DROP TRIGGER linger ON sales")
    bar.execute("DROP FUNCTION linger()")


@pytest.mark.slow
@pytest.mark.usefixtures("slow_sales")
def test_twenty_simultaneous_retries_of_one_key_sell_once_and_answer_alike_or_ask_to_wait(
    bar: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    key = str(uuid.uuid4())
    turns = [[Sale(mojito(), key=key)] for _ in range(RETRIES)]

    answers, deadlocked = sold_together(bar, turns)

    sold = [a for a in answers if a.status == 201]
    waiting = [a for a in answers if a.status == 409]
    assert len(sold) + len(waiting) == RETRIES, [a.body for a in answers]
    assert sold, "no request sold"
    assert waiting, "no retry arrived while the first was in flight"
    assert {a.body for a in sold} == {sold[0].body}
    assert {a.error_code for a in waiting} == {"idempotency_in_progress"}
    assert all(int(a.headers["Retry-After"]) >= 1 for a in waiting)
    assert deadlocked == 0
    assert counts(bar) == (1, 1, 3)
    assert stock(bar, LIMES.product_id) == LIMES.current_stock - LIMES.quantity
    assert ledger_sum(bar, LIMES.product_id) == stock(bar, LIMES.product_id)
    # Once the first has finished, a retry is answered with what it answered.
    again = sell(lambda_context, mojito(), key=key)
    assert again["statusCode"] == 201
    assert again["body"] == sold[0].body
    assert answer(again)["data"]["sale_id"] == json.loads(sold[0].body)["data"]["sale_id"]
    assert counts(bar) == (1, 1, 3)
