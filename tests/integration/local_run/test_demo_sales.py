"""`make run`'s demo sales (devtools/demo_sales.py) against the local API in-process: a sale
the stock cannot cover, or an API that does not answer, is one line of the start-up output,
never an error; a refused sale leaves no record, so the next start sells it."""

from __future__ import annotations

from typing import Any

import psycopg

from devtools.demo_data import product_id
from devtools.demo_sales import DEMO_SALES, sell_demo
from devtools.local_api import LocalApiServer
from tests.support.services import free_port


def test_a_sale_the_stock_cannot_cover_is_one_line_and_the_next_start_sells_it(
    local_api: LocalApiServer, db: psycopg.Connection[Any]
) -> None:
    ginger_beer = product_id("Ginger beer 200ml")  # demo-sale-1's Moscow Mule and Dark 'n' Stormy
    db.execute("UPDATE products SET current_stock = 0 WHERE id = %s", (ginger_beer,))

    refused, *others = sell_demo(local_api.url)

    assert refused.startswith("demo-sale-1 (1 Moscow Mule + 1 Dark 'n' Stormy): not sold: 409")
    assert "insufficient_stock" in refused
    assert "Ginger beer 200ml (needs 2, 0 available)" in refused
    assert len(others) == len(DEMO_SALES) - 1
    assert all(", deducted " in line for line in others), others
    assert "\n" not in "".join([refused, *others])

    db.execute("UPDATE products SET current_stock = 30 WHERE id = %s", (ginger_beer,))
    sold, *answered = sell_demo(local_api.url)

    assert sold.startswith("demo-sale-1 (")
    assert "Ginger beer 200ml 2 (28 left)" in sold
    assert all("already recorded" in line for line in answered), answered
    row = db.execute("SELECT count(*) FROM sales").fetchone()
    assert row is not None
    assert row[0] == len(DEMO_SALES)


def test_an_api_that_does_not_answer_is_one_line() -> None:
    lines = list(sell_demo(f"http://127.0.0.1:{free_port()}"))

    assert len(lines) == 1
    assert lines[0].startswith("no token from the local issuer, nothing sold: ")
