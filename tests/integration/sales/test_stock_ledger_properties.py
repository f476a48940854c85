"""The ledger accounts for every change of stock, whoever makes it.

Random sequences of sales (the real POST /api/pos/sales handler: some oversold with
`allow_oversell`, some refused), stock movements (the real POST /api/inventory/stock-movements
handler, every kind) and writes that bypass the API (an UPDATE of one product, a bulk UPDATE of
several in one statement, an INSERT of new products with stock) run one after the other; a
model in Python follows each step with the cart's demand and `rules/stock_movements.level_after`.
Then, for every product: its ledger is exactly the rows the model expects (kind, delta, level
after, in `seq` order, each level the one before plus its delta), so current_stock equals its
starting stock plus the sum of its deltas and the last row's `stock_after`; and the list route
pages it newest first.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.rules.stock_movements import MovementKind, level_after
from tests.support import services
from tests.support.events import FakeLambdaContext, next_query
from tests.support.pos_sales import sell
from tests.support.stock_movements import exact_body, ledger, ledger_page, move

pytestmark = pytest.mark.slow

EVENT_CLIENT = "3n4b5urk1ft4fl3mg5e1a2b3c4"  # the events files' client_id
PRODUCTS = [uuid.uuid5(uuid.NAMESPACE_OID, f"ledger-product-{i}") for i in range(3)]
# Two packages sharing the middle product, so one cart's lines add up on it.
PACKAGES = {
    uuid.uuid5(uuid.NAMESPACE_OID, "ledger-package-mix"): {
        PRODUCTS[0]: Decimal("0.5"),
        PRODUCTS[1]: Decimal(1),
    },
    uuid.uuid5(uuid.NAMESPACE_OID, "ledger-package-shot"): {
        PRODUCTS[1]: Decimal("0.25"),
        PRODUCTS[2]: Decimal(2),
    },
}
PACKAGE_IDS = list(PACKAGES)

# Collide on purpose: zero, negative (oversold) and repeating decimals.
STOCKS = [Decimal(v) for v in ("0", "-1.5", "0.3", "2", "3.75", "10", "0.000000000000001")]
AMOUNTS = [Decimal(v) for v in ("0.1", "0.25", "1", "2.5", "3", "7.125", "0.000000000000001")]
SIGNED = AMOUNTS + [-a for a in AMOUNTS]
SAME_LEVEL = None  # a count that finds the level on record

_PICK = st.integers(0, 7)  # a product by index into those that exist at that step


@dataclass(frozen=True)
class Sale:
    lines: list[tuple[str, int, Any]]  # ("package" | "product", index, quantity)
    allow_oversell: bool | None


@dataclass(frozen=True)
class Movement:
    pick: int
    kind: MovementKind
    quantity: Decimal | None  # None: count the level on record


@dataclass(frozen=True)
class ExternalUpdate:
    changes: list[tuple[int, Decimal]]  # one statement: (product, amount added), 0 included


@dataclass(frozen=True)
class ExternalInsert:
    stocks: list[Decimal]  # one statement, one new product each


_SALE_LINES = st.lists(
    st.one_of(
        st.tuples(st.just("package"), st.integers(0, len(PACKAGES) - 1), st.integers(1, 3)),
        st.tuples(st.just("product"), _PICK, st.sampled_from(AMOUNTS)),
    ),
    min_size=1,
    max_size=3,
)
steps = st.one_of(
    st.builds(Sale, _SALE_LINES, st.sampled_from([True, False, None])),
    st.builds(
        Movement,
        _PICK,
        st.sampled_from([MovementKind.RECEIPT, MovementKind.WASTE]),
        st.sampled_from(AMOUNTS),
    ),
    st.builds(Movement, _PICK, st.just(MovementKind.CORRECTION), st.sampled_from(SIGNED)),
    st.builds(
        Movement,
        _PICK,
        st.just(MovementKind.COUNT),
        st.sampled_from([SAME_LEVEL, Decimal(0), *AMOUNTS]),
    ),
    st.builds(
        ExternalUpdate,
        st.lists(st.tuples(_PICK, st.sampled_from([Decimal(0), *SIGNED])), min_size=1, max_size=3),
    ),
    st.builds(ExternalInsert, st.lists(st.sampled_from(STOCKS), min_size=1, max_size=2)),
)


@dataclass(frozen=True)
class Expected:
    kind: str
    delta: Decimal
    after: Decimal
    actor: str
    reference_id: UUID | None


@dataclass
class Model:
    """What the ledger must hold, step by step."""

    database_user: str
    products: list[UUID] = field(default_factory=list)
    inserted: dict[UUID, Decimal] = field(default_factory=dict)  # the starting stock
    level: dict[UUID, Decimal] = field(default_factory=dict)
    rows: dict[UUID, list[Expected]] = field(default_factory=dict)

    def pick(self, index: int) -> UUID:
        return self.products[index % len(self.products)]

    def add(self, product: UUID, stock: Decimal) -> None:
        self.products.append(product)
        self.inserted[product] = stock
        self.level[product] = stock
        # The insert trigger's opening row; a product inserted with nothing has none.
        self.rows[product] = (
            [Expected("external", stock, stock, self.external_actor, None)] if stock else []
        )

    @property
    def external_actor(self) -> str:
        return f"db:{self.database_user}"

    def record(
        self,
        product: UUID,
        kind: str,
        after: Decimal,
        actor: str,
        reference_id: UUID | None,
    ) -> None:
        delta = after - self.level[product]
        self.level[product] = after
        self.rows[product].append(Expected(kind, delta, after, actor, reference_id))


def _insert(connection: psycopg.Connection[Any], model: Model, stocks: list[Decimal]) -> None:
    ids = [uuid.uuid4() for _ in stocks]
    connection.execute(
        "INSERT INTO products (id, name, current_stock)"
        " SELECT id, 'New ' || id, stock FROM unnest(%s::uuid[], %s::numeric[]) AS n(id, stock)",
        (ids, stocks),
    )
    for product, stock in zip(ids, stocks, strict=True):
        model.add(product, stock)


def _catalogue(connection: psycopg.Connection[Any], model: Model, stocks: list[Decimal]) -> None:
    connection.execute(
        "INSERT INTO products (id, name, current_stock)"
        " SELECT id, 'Product ' || n, stock"
        " FROM unnest(%s::uuid[], %s::numeric[]) WITH ORDINALITY AS p(id, stock, n)",
        (PRODUCTS, stocks),
    )
    for product, stock in zip(PRODUCTS, stocks, strict=True):
        model.add(product, stock)
    for package, components in PACKAGES.items():
        connection.execute("INSERT INTO packages (id, name) VALUES (%s, %s)", (package, "P"))
        for product, quantity in components.items():
            connection.execute(
                "INSERT INTO package_items (package_id, product_id, quantity) VALUES (%s, %s, %s)",
                (package, product, quantity),
            )


def _data(response: dict[str, Any]) -> Any:
    """The answer's `data`, its numbers read as the exact decimals written."""
    return json.loads(response["body"], parse_float=Decimal)["data"]


def _sell(context: FakeLambdaContext, model: Model, sale: Sale) -> None:
    items: list[dict[str, Any]] = []
    demand: dict[UUID, Decimal] = {}
    for kind, index, quantity in sale.lines:
        if kind == "package":
            package = PACKAGE_IDS[index]
            items.append({"package_id": str(package), "quantity": quantity})
            for product, per_package in PACKAGES[package].items():
                demand[product] = demand.get(product, Decimal(0)) + per_package * quantity
        else:
            product = model.pick(index)
            items.append({"product_id": str(product), "quantity": quantity})
            demand[product] = demand.get(product, Decimal(0)) + quantity
    body: dict[str, Any] = {"items": items}
    if sale.allow_oversell is not None:
        body["allow_oversell"] = sale.allow_oversell
    short = any(required > model.level[p] for p, required in demand.items())

    response = sell(context, exact_body(body))

    if short and not sale.allow_oversell:  # None: ALLOW_OVERSELL, false here
        assert response["statusCode"] == 409, response["body"]
        return
    assert response["statusCode"] == 201, response["body"]
    data = _data(response)
    assert data["oversold"] is short
    sale_id = UUID(data["sale_id"])
    for product in sorted(demand):
        model.record(product, "sale", model.level[product] - demand[product], EVENT_CLIENT, sale_id)


def _move(context: FakeLambdaContext, model: Model, movement: Movement) -> None:
    product = model.pick(movement.pick)
    quantity = movement.quantity
    if quantity is None:
        quantity = max(model.level[product], Decimal(0))
    body = {"product_id": str(product), "kind": movement.kind.value, "quantity": quantity}

    response = move(context, body)

    assert response["statusCode"] == 201, response["body"]
    data = _data(response)
    after = level_after(movement.kind, quantity, model.level[product])
    assert data["stock_after"] == after
    model.record(product, movement.kind.value, after, EVENT_CLIENT, UUID(data["reference_id"]))


def _update(connection: psycopg.Connection[Any], model: Model, update: ExternalUpdate) -> None:
    changes: dict[UUID, Decimal] = {}
    for index, amount in update.changes:
        changes[model.pick(index)] = amount  # one row per product in a statement: the last
    connection.execute(
        "UPDATE products p SET current_stock = p.current_stock + c.amount"
        " FROM unnest(%s::uuid[], %s::numeric[]) AS c(id, amount) WHERE p.id = c.id",
        (list(changes), list(changes.values())),
    )
    for product in sorted(changes):
        if changes[product]:  # the same level again is no change: no row
            after = model.level[product] + changes[product]
            model.record(product, "external", after, model.external_actor, None)


def _listed(context: FakeLambdaContext, product: UUID) -> list[dict[str, Any]]:
    path = f"/api/inventory/products/{product}/stock-movements"
    rows: list[dict[str, Any]] = []
    query: dict[str, str] | None = {"limit": "3"}
    while query is not None:
        response = ledger_page(context, product, query)
        assert response["statusCode"] == 200, response["body"]
        rows += _data(response)
        query = next_query(response, path)
    return rows


@settings(max_examples=25)
@given(
    starting=st.lists(st.sampled_from(STOCKS), min_size=3, max_size=3),
    plan=st.lists(steps, max_size=7),
)
def test_every_change_of_stock_has_its_ledger_row_and_the_rows_add_up(
    db: psycopg.Connection[Any],
    database_url: str,
    idempotency_table: str,
    lambda_context: FakeLambdaContext,
    starting: list[Decimal],
    plan: list[Any],
) -> None:
    services.truncate_all(database_url)
    user = db.execute("SELECT session_user").fetchone()
    assert user is not None
    model = Model(database_user=user[0])
    _catalogue(db, model, starting)

    for step in plan:
        if isinstance(step, Sale):
            _sell(lambda_context, model, step)
        elif isinstance(step, Movement):
            _move(lambda_context, model, step)
        elif isinstance(step, ExternalUpdate):
            _update(db, model, step)
        else:
            _insert(db, model, step.stocks)

    stocks = dict(db.execute("SELECT id, current_stock FROM products").fetchall())
    assert set(stocks) == set(model.products)
    for product in model.products:
        rows = ledger(db, product)
        assert [
            Expected(r.kind, r.quantity_delta, r.stock_after, r.actor or "", r.reference_id)
            for r in rows
        ] == model.rows[product]
        seqs = [r.seq for r in rows]
        assert seqs == sorted(set(seqs))
        start = model.inserted[product]
        since = rows[1:] if start else rows  # after the opening row, when there is one
        assert stocks[product] == model.level[product]
        assert stocks[product] == start + sum((r.quantity_delta for r in since), Decimal(0))
        assert stocks[product] == sum((r.quantity_delta for r in rows), Decimal(0))
        assert stocks[product] == (rows[-1].stock_after if rows else 0)
        listed = _listed(lambda_context, product)
        assert [row["version"] for row in listed] == seqs[::-1]
        assert [row["stock_after"] for row in listed] == [r.stock_after for r in reversed(rows)]
