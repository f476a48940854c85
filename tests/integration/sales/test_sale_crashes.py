"""A sale whose process dies, or whose PostgreSQL or DynamoDB answer is lost, is sold once,
and its retry answers it.

The process is real and really killed: a worker of tests/support/sale_workers.py runs the
handler and is held at a point of its sale (after PostgreSQL committed but before Powertools
stored the answer, or before the commit) until this test SIGKILLs it, as an OOM kill or a
Lambda timeout would. Powertools' record then says "in progress" until the dead invocation's
time is up (its context gave it REMAINING_MS), and the retry after that runs the sale again,
which finds what the first attempt committed, or nothing. The lost answers go through
tests/support/fault_proxy.py, in front of the real PostgreSQL or moto server.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from inventory.config import get_settings
from inventory.data.db import reset_connection
from tests.support.catalog import component, insert_catalog, package
from tests.support.dynamo import dynamodb_client
from tests.support.events import FakeLambdaContext
from tests.support.fault_postgres import url_through
from tests.support.fault_proxy import answer_dropping_proxy
from tests.support.pos_sales import answer, counts, ledger_sum, sell, stock
from tests.support.sale_workers import (
    AFTER_COMMIT,
    BEFORE_COMMIT,
    Sale,
    service_environment,
    start_hanging_sale,
)

LIMES = component("Limes", "0.5", 5)
RUM = component("White rum", 50, 1000)
MOJITO = package("Mojito", [LIMES, RUM])
# The killed invocation's time: its record stays "in progress" this long after it began.
REMAINING_MS = 3000


def mojito() -> dict[str, Any]:
    return {"items": [{"package_id": str(MOJITO.package_id), "quantity": 1}]}


@pytest.fixture
def bar(db: psycopg.Connection[Any], idempotency_table: str) -> psycopg.Connection[Any]:
    insert_catalog(db, [MOJITO])
    return db


def the_record(table: str) -> dict[str, Any]:
    """Powertools' one record in the idempotency table."""
    items = dynamodb_client(os.environ["AWS_ENDPOINT_URL_DYNAMODB"]).scan(TableName=table)
    assert len(items["Items"]) == 1, items["Items"]
    record: dict[str, Any] = items["Items"][0]
    return record


def wait_until_in_progress_ends(table: str) -> None:
    record = the_record(table)
    # Without it (no invocation context registered), a dead sale's key would answer "in
    # progress" until the whole record expires, a day later.
    assert "in_progress_expiration" in record, "the in-progress record never ends"
    ends_ms = int(record["in_progress_expiration"]["N"])
    time.sleep(max(0.0, ends_ms / 1000 - time.time()) + 0.05)


def sold_once(db: psycopg.Connection[Any]) -> None:
    assert counts(db) == (1, 1, 2)
    assert stock(db, LIMES.product_id) == LIMES.current_stock - LIMES.quantity
    assert stock(db, RUM.product_id) == RUM.current_stock - RUM.quantity
    for product in (LIMES, RUM):
        assert ledger_sum(db, product.product_id) == stock(db, product.product_id)


def assert_asked_to_wait(response: dict[str, Any]) -> None:
    assert response["statusCode"] == 409, response["body"]
    assert answer(response)["error"]["code"] == "idempotency_in_progress"
    assert int(response["headers"]["Retry-After"]) >= 1


def test_a_sale_killed_after_its_commit_is_answered_by_the_retry_and_not_sold_again(
    bar: psycopg.Connection[Any], idempotency_table: str, lambda_context: FakeLambdaContext
) -> None:
    key = str(uuid.uuid4())
    hanging = start_hanging_sale(
        service_environment(), Sale(mojito(), key, REMAINING_MS), AFTER_COMMIT
    )
    sold_once(bar)  # committed, and the answer not yet stored in DynamoDB

    hanging.kill()

    assert the_record(idempotency_table)["status"]["S"] == "INPROGRESS"
    assert_asked_to_wait(sell(lambda_context, mojito(), key=key))
    wait_until_in_progress_ends(idempotency_table)
    retried = sell(lambda_context, mojito(), key=key)
    assert retried["statusCode"] == 201, retried["body"]
    assert answer(retried)["data"] == json.loads(hanging.answer_json)
    sold_once(bar)
    assert the_record(idempotency_table)["status"]["S"] == "COMPLETED"
    assert sell(lambda_context, mojito(), key=key)["body"] == retried["body"]
    sold_once(bar)


def test_a_sale_killed_before_its_commit_is_sold_by_the_retry_once(
    bar: psycopg.Connection[Any], idempotency_table: str, lambda_context: FakeLambdaContext
) -> None:
    key = str(uuid.uuid4())
    hanging = start_hanging_sale(
        service_environment(), Sale(mojito(), key, REMAINING_MS), BEFORE_COMMIT
    )
    assert counts(bar) == (0, 0, 0)  # written in its transaction, not committed

    hanging.kill()

    assert_asked_to_wait(sell(lambda_context, mojito(), key=key))
    wait_until_in_progress_ends(idempotency_table)
    retried = sell(lambda_context, mojito(), key=key)
    assert retried["statusCode"] == 201, retried["body"]
    sold = answer(retried)["data"]
    would_have = json.loads(hanging.answer_json)
    assert sold["sale_id"] == would_have["sale_id"]
    assert [(d["product_id"], d["quantity"]) for d in sold["deducted"]] == [
        (d["product_id"], d["quantity"]) for d in would_have["deducted"]
    ]
    sold_once(bar)
    assert Decimal(str(sold["deducted"][0]["stock_after"])) == stock(
        bar, sold["deducted"][0]["product_id"]
    )


@pytest.mark.parametrize(
    "lost",
    [
        pytest.param(b"COMMIT", id="the-commit"),  # committed: the rerun finds the sale
        pytest.param(b"INSERT INTO sales (", id="the-sale-statement"),  # rolled back
    ],
)
def test_a_sale_whose_database_answer_was_lost_is_answered_and_sold_once(
    bar: psycopg.Connection[Any],
    database_url: str,
    service_env: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
    lost: bytes,
) -> None:
    """A proxy (RDS Proxy, a NAT) drops the connection after the server did the work: the
    same invocation runs the sale again on a fresh connection (data/db.py), where its
    request id finds the committed sale, or a free id when the server rolled back."""
    key = str(uuid.uuid4())
    with answer_dropping_proxy(database_url) as proxy:
        service_env.setenv("DATABASE_URL", url_through(proxy.url, database_url))
        get_settings.cache_clear()
        reset_connection()
        proxy.drop_answers(lost)

        first = sell(lambda_context, mojito(), key=key)

        assert proxy.dropped == 1
        assert first["statusCode"] == 201, first["body"]
        sold_once(bar)
        again = sell(lambda_context, mojito(), key=key)
        assert again["body"] == first["body"]
    sold_once(bar)


def test_a_lost_answer_to_the_dynamodb_claim_is_a_retryable_409_and_the_key_sells_once_later(
    bar: psycopg.Connection[Any],
    idempotency_table: str,
    moto_endpoint: str,
    service_env: pytest.MonkeyPatch,
) -> None:
    """The PutItem that claims the key landed, its answer was lost: botocore sends it again,
    and Powertools finds the key in progress (its own record), so the request cannot tell
    whether another is selling. It sells nothing and says retry; the key is free once the
    invocation's time is up, and then sells once."""
    from inventory.data.idempotency_records import persistence_layer

    key = str(uuid.uuid4())
    with answer_dropping_proxy(moto_endpoint) as proxy:
        service_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.url)
        persistence_layer.cache_clear()
        proxy.drop_answers(b"DynamoDB_20120810.PutItem")

        first = sell(FakeLambdaContext(remaining_ms=REMAINING_MS), mojito(), key=key)

        assert proxy.dropped == 1
        assert_asked_to_wait(first)
        assert counts(bar) == (0, 0, 0)
        assert_asked_to_wait(sell(FakeLambdaContext(), mojito(), key=key))
        wait_until_in_progress_ends(idempotency_table)
        retried = sell(FakeLambdaContext(), mojito(), key=key)
        assert retried["statusCode"] == 201, retried["body"]
        sold_once(bar)
