"""Sales' figures for `make bench` (SPEC §11): a sale's latency through the real handler, and
sales per second with 8 concurrent clients, on carts of 3 packages sharing components.

On the bench's PostgreSQL and moto's DynamoDB (the idempotency records), with no event bus
(the stock.changed events stay owed in the outbox: EventBridge is not what is measured):
- a catalogue of 1,000 packages of 3 to 5 components over 300 products, two of ten "house"
  products (ice, limes, ...) in every package, stock ample and uneven so every sale succeeds
  and each package has its own bottleneck;
- one client: `functions/pos_sale.lambda_handler` fed `events/pos_sale.json`, a new key each,
  p50/p99/mean; a replay (same key and body); the same sale without Powertools and DynamoDB
  (the service's transaction alone on the connection), to split the latency; the statements;
- 8 client processes at once (a Lambda container holds one connection, so a process is one
  client), for a fixed time: sales per second and latencies, on random carts (shared house
  products) and on carts that all take one hot product (its row lock serialises them).
"""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from multiprocessing.synchronize import Event
from typing import Any

import psycopg

from devtools.bench_services import BenchServices, note, quiet_stdout
from devtools.template import ROOT, FunctionSpec, Template

PACKAGES = 1_000
PRODUCTS = 300
HOUSE_PRODUCTS = 10
SINGLE_SALES = 300
CLIENTS = 8
CONCURRENT_SECONDS = 10.0
CART_PACKAGES = 3


def _catalogue(connection: psycopg.Connection[Any], rng: random.Random) -> list[uuid.UUID]:
    """The bench's sales catalogue (replacing whatever is there); the package ids."""
    connection.execute(
        "TRUNCATE stock_events, stock_movements, write_requests, order_items, sales,"
        " package_items, packages, products CASCADE"
    )
    products = [uuid.uuid4() for _ in range(PRODUCTS)]
    packages = [uuid.uuid4() for _ in range(PACKAGES)]
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO products (id, name, current_stock, par_level) VALUES (%s, %s, %s, 100)",
            # Ample and uneven, as a bar's stock is: each package has its own bottleneck.
            [
                (pid, f"Product {n:03}", rng.randint(20_000, 500_000))
                for n, pid in enumerate(products)
            ],
        )
        cursor.executemany(
            "INSERT INTO packages (id, name) VALUES (%s, %s)",
            [(pid, f"Package {n:04}") for n, pid in enumerate(packages)],
        )
        items = []
        for package in packages:
            house = rng.sample(products[:HOUSE_PRODUCTS], 2)
            own = rng.sample(products[HOUSE_PRODUCTS:], rng.randint(1, 3))
            items += [
                (package, product, rng.choice(("0.25", "1", "2.5"))) for product in house + own
            ]
        cursor.executemany(
            "INSERT INTO package_items (package_id, product_id, quantity) VALUES (%s, %s, %s)",
            items,
        )
    connection.execute("ANALYZE products, packages, package_items")
    return packages


def _cart(rng: random.Random, packages: Sequence[uuid.UUID]) -> dict[str, Any]:
    return {
        "items": [
            {"package_id": str(package), "quantity": rng.randint(1, 3)}
            for package in rng.sample(list(packages), CART_PACKAGES)
        ]
    }


def _hot_cart(
    rng: random.Random, packages: Sequence[uuid.UUID], hot: Sequence[uuid.UUID]
) -> dict[str, Any]:
    """A cart whose first package uses the hot product: every such cart waits for the last."""
    cart = _cart(rng, packages)
    cart["items"][0]["package_id"] = str(rng.choice(list(hot)))
    return cart


_EVENT = json.loads((ROOT / "events" / "pos_sale.json").read_text())


def _event(body: dict[str, Any], key: str) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(_EVENT)
    event["body"] = json.dumps(body)
    event["headers"]["idempotency-key"] = key
    return event


def _handler(template: Template) -> Any:
    from devtools.lambda_runtime import load_function_module

    spec = _spec(template)
    return getattr(load_function_module(spec), spec.handler_function)


def _spec(template: Template) -> FunctionSpec:
    return template.routes["POST /api/pos/sales"]


def _context(template: Template) -> Any:
    from devtools.lambda_runtime import LocalLambdaContext

    spec = _spec(template)
    return LocalLambdaContext(spec.logical_id, spec.memory_mb, spec.timeout_seconds)


def _percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {
        "count": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


def _sell(handler: Any, template: Template, body: dict[str, Any], key: str) -> float:
    event, context = _event(body, key), _context(template)
    started = time.perf_counter()
    response = handler(event, context)
    elapsed = (time.perf_counter() - started) * 1000
    if response["statusCode"] != 201:
        raise RuntimeError(f"a bench sale was refused: {response['body'][:300]}")
    return elapsed


def _client(
    environment: dict[str, str],
    paths: list[str],
    carts: list[dict[str, Any]],
    start: Event,
    seconds: float,
    results: Any,
) -> None:
    """One concurrent client (a process, as a Lambda container): sells until the time is up."""
    os.environ.update(environment)
    sys.path[:0] = [p for p in paths if p not in sys.path]
    from devtools.template import load_template

    template = load_template()
    with quiet_stdout():
        handler = _handler(template)
        _sell(handler, template, carts[0], f"warm-{uuid.uuid4()}")  # its connections
        start.wait()
        latencies: list[float] = []
        ends = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < ends:
            latencies.append(_sell(handler, template, carts[n % len(carts)], str(uuid.uuid4())))
            n += 1
    results.put(latencies)


def _concurrent(
    environment: dict[str, str], carts_per_client: list[list[dict[str, Any]]], seconds: float
) -> dict[str, Any]:
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Event()
    results = spawn.Queue()
    clients = [
        spawn.Process(
            target=_client,
            args=(environment, list(sys.path), carts, start, seconds, results),
        )
        for carts in carts_per_client
    ]
    for client in clients:
        client.start()
    time.sleep(3)  # every client imported and warmed (its first sale made)
    began = time.perf_counter()
    start.set()
    latencies: list[float] = []
    for _ in clients:
        latencies += results.get(timeout=seconds + 120)
    wall = time.perf_counter() - began
    for client in clients:
        client.join(timeout=30)
    return {
        "clients": len(clients),
        "seconds": round(wall, 2),
        "sales": len(latencies),
        "sales_per_second": round(len(latencies) / wall, 1),
        **_percentiles(latencies),
    }


def measure_sales(
    template: Template,
    services: BenchServices,
    *,
    single_sales: int = SINGLE_SALES,
    concurrent_seconds: float = CONCURRENT_SECONDS,
) -> dict[str, Any]:
    from devtools.bench_statements import StatementCounter
    from devtools.local_services import create_tables
    from inventory.callers import Caller
    from inventory.config import get_settings
    from inventory.data.db import get_connection, reset_connection, run_on_connection
    from inventory.data.idempotency_records import persistence_layer
    from inventory.models.sales import SaleRequest
    from inventory.services import sales
    from inventory.services.idempotent_writes import IdempotentRequest, request_of

    create_tables(template, services.dynamodb_endpoint)
    table = template.tables["IdempotencyTable"].local_name
    environment = {
        **services.environment,
        "IDEMPOTENCY_TABLE_NAME": table,
        "STOCK_EVENT_BUS_NAME": "",
    }
    os.environ.update(environment)
    os.environ.pop("STOCK_EVENT_BUS_NAME")
    environment.pop("STOCK_EVENT_BUS_NAME")
    get_settings.cache_clear()
    persistence_layer.cache_clear()
    reset_connection()
    rng = random.Random(18)
    with psycopg.connect(services.database_url, autocommit=True) as connection:
        packages = _catalogue(connection, rng)
        hot_product = connection.execute("SELECT id FROM products ORDER BY name LIMIT 1").fetchone()
        assert hot_product is not None
        hot = [
            row[0]
            for row in connection.execute(
                "SELECT package_id FROM package_items WHERE product_id = %s", (hot_product[0],)
            ).fetchall()
        ]
    note(f"sales: {PACKAGES:,} packages over {PRODUCTS} products, carts of {CART_PACKAGES}")

    handler = _handler(template)
    figures: dict[str, Any] = {
        "catalogue": {
            "packages": PACKAGES,
            "products": PRODUCTS,
            "house_products": HOUSE_PRODUCTS,
            "cart_packages": CART_PACKAGES,
            "hot_product_packages": len(hot),
        }
    }
    with quiet_stdout():
        carts = [_cart(rng, packages) for _ in range(single_sales)]
        _sell(handler, template, carts[0], "warm-up")
        single = [_sell(handler, template, cart, str(uuid.uuid4())) for cart in carts]
        figures["one_client"] = _percentiles(single)

        replays = [_sell(handler, template, carts[0], "warm-up") for _ in range(50)]
        figures["replay"] = _percentiles(replays)

        counter = StatementCounter()
        with counter.counting(get_connection()):
            _sell(handler, template, carts[1], str(uuid.uuid4()))
        figures["statements_per_sale"] = counter.count

        caller = Caller(sub="bench", client_id="bench")
        now = datetime.now(UTC)
        bare = []
        for cart in carts[:100]:
            request = SaleRequest.model_validate(cart)
            idempotent = request_of("sale", caller, str(uuid.uuid4()), request.canonical())

            def transaction(
                connection: psycopg.Connection[Any],
                request: SaleRequest = request,
                idempotent: IdempotentRequest = idempotent,
            ) -> Any:
                # The service's transaction alone: no Powertools, no DynamoDB.
                return sales._sell_once(connection, request, idempotent, caller, now)

            started = time.perf_counter()
            run_on_connection(transaction)
            bare.append((time.perf_counter() - started) * 1000)
        figures["postgresql_alone"] = _percentiles(bare)

    note(f"sales: {CLIENTS} clients for {concurrent_seconds:.0f} s on shared carts")
    figures["eight_clients_shared"] = _concurrent(
        environment,
        [[_cart(rng, packages) for _ in range(200)] for _ in range(CLIENTS)],
        concurrent_seconds,
    )
    note(f"sales: {CLIENTS} clients for {concurrent_seconds:.0f} s, every cart one hot product")
    figures["eight_clients_one_hot_product"] = _concurrent(
        environment,
        [[_hot_cart(rng, packages, hot) for _ in range(200)] for _ in range(CLIENTS)],
        concurrent_seconds,
    )
    with psycopg.connect(services.database_url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT (SELECT count(*) FROM sales),"
            " (SELECT count(*) FROM products p WHERE p.current_stock <>"
            "   (SELECT sum(quantity_delta) FROM stock_movements m WHERE m.product_id = p.id))"
        ).fetchone()
        assert row is not None
        figures["sales_recorded"], figures["ledger_mismatches"] = int(row[0]), int(row[1])
    persistence_layer.cache_clear()
    return figures


def render_sales(figures: dict[str, Any]) -> str:
    one, replay, bare = figures["one_client"], figures["replay"], figures["postgresql_alone"]
    shared, hot = figures["eight_clients_shared"], figures["eight_clients_one_hot_product"]
    catalogue = figures["catalogue"]
    return "\n".join(
        [
            f"Sales ({catalogue['packages']:,} packages over {catalogue['products']} products, "
            f"carts of {catalogue['cart_packages']} packages; the handler, PostgreSQL, moto's "
            "DynamoDB):",
            f"  one client: p50 {one['p50_ms']} ms, p99 {one['p99_ms']} ms, mean "
            f"{one['mean_ms']} ms over {one['count']} sales; {figures['statements_per_sale']} "
            "statements a sale",
            f"  the transaction alone (no Powertools, no DynamoDB): p50 {bare['p50_ms']} ms, p99 "
            f"{bare['p99_ms']} ms; a replay: p50 {replay['p50_ms']} ms",
            f"  8 clients, shared components: {shared['sales_per_second']} sales/s, p50 "
            f"{shared['p50_ms']} ms, p99 {shared['p99_ms']} ms ({shared['sales']} sales)",
            f"  8 clients, one hot product in every cart ({catalogue['hot_product_packages']} "
            f"packages use it): {hot['sales_per_second']} sales/s, p50 {hot['p50_ms']} ms, p99 "
            f"{hot['p99_ms']} ms",
            f"  {figures['sales_recorded']:,} sales recorded; products whose stock is not its "
            f"ledger's sum: {figures['ledger_mismatches']}",
        ]
    )
