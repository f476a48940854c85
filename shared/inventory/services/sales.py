"""Selling a cart (POST /api/pos/sales, SPEC §11): one transaction that locks, checks,
deducts and records, run at most once per Idempotency-Key.

The transaction: take the request's id (`write_requests`: a retry whose first attempt
committed answers from there), lock every product the cart may change in id order, check
the whole cart against the locked stock with the cart rules, then write the sale, its order
items and the deductions in one statement (the ledger's trigger records each product's
movement), read the affected packages' availability and store the answer. A short cart is
refused before anything is written, unless overselling is allowed.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

import psycopg
from aws_lambda_powertools.metrics import MetricUnit

from inventory.callers import Caller
from inventory.config import get_settings
from inventory.data import availability_sql, catalog, sales
from inventory.data.db import run_on_connection
from inventory.data.stock_ledger import LedgerNote
from inventory.errors import (
    FieldProblem,
    InsufficientStockError,
    InvalidRequestError,
    ItemsInactiveError,
)
from inventory.models.availability import AvailabilityItem
from inventory.models.cart import ShortageOut
from inventory.models.sales import Deduction, Sale, SaleRequest
from inventory.observability import logger, metrics
from inventory.rules.availability import Component, PackageSpec
from inventory.rules.cart import CartLine, LineStatus, PackageLine, Stock, check_cart, demand_of
from inventory.rules.stock_events import (
    SALE,
    PackageStatus,
    ProductStock,
    StockChanged,
    named,
)
from inventory.rules.stock_movements import MovementKind
from inventory.services.cart import line_ids, refuse_unknown
from inventory.services.idempotent_writes import (
    IdempotentRequest,
    request_of,
    run_once,
    stock_write,
)
from inventory.services.stock_events import publish_after_commit

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

OPERATION = "sale"
# A POS clock a little ahead of ours is normal; a sale dated later than this is a mistake.
SOLD_AT_SKEW = timedelta(minutes=5)


def sell(
    request: SaleRequest,
    *,
    caller: Caller,
    key: str,
    context: LambdaContext | None,
    now: datetime | None = None,
) -> Sale:
    """The sale's answer: recorded now, or the one recorded for this key before."""
    moment = now or datetime.now(UTC)
    _check_sold_at(request, moment)
    idempotent = request_of(OPERATION, caller, key, request.canonical())

    def write() -> str:
        text, event_id = run_on_connection(
            lambda connection: _sell_once(connection, request, idempotent, caller, moment)
        )
        if event_id is not None:
            publish_after_commit([event_id])  # never raises: the monitor's sweep retries
        return text

    return Sale.model_validate(
        json.loads(run_once(idempotent, write, context), parse_float=Decimal)
    )


def _check_sold_at(request: SaleRequest, now: datetime) -> None:
    if request.sold_at is not None and request.sold_at > now + SOLD_AT_SKEW:
        raise InvalidRequestError(
            "sold_at is in the future.",
            details=[FieldProblem("body", "/sold_at", "more than five minutes ahead")],
        )


def _sell_once(
    connection: psycopg.Connection[Any],
    request: SaleRequest,
    idempotent: IdempotentRequest,
    caller: Caller,
    now: datetime,
) -> tuple[str, UUID | None]:
    """The answer's JSON text and the stock.changed event it owes (None: a replay)."""

    def write() -> tuple[Sale, StockChanged]:
        answer = _record(connection, request, idempotent.request_id, caller.label, now)
        return answer, _stock_changed(answer)

    recorded = stock_write(connection, idempotent, write)
    if recorded.answer is not None:
        metrics.add_metric(name="SalesRecorded", unit=MetricUnit.Count, value=1)
        if recorded.answer.oversold:
            metrics.add_metric(name="SalesOversold", unit=MetricUnit.Count, value=1)
            logger.warning("Sale oversold stock", extra={"sale_id": str(idempotent.request_id)})
    return recorded.text, recorded.event_id


def _stock_changed(sale: Sale) -> StockChanged:
    return StockChanged(
        event_id=uuid.uuid4(),
        cause=SALE,
        sale_id=sale.sale_id,
        movement_id=None,
        occurred_at=sale.sold_at,
        products=tuple(ProductStock(d.product_id, d.stock_after, d.version) for d in sale.deducted),
        packages=tuple(
            PackageStatus(p.package_id, p.max_sellable, p.status.value) for p in sale.packages
        ),
        packages_complete=sale.packages_complete,
    )


def _locked_specs(
    connection: psycopg.Connection[Any],
    package_ids: list[UUID],
    product_ids: list[UUID],
) -> tuple[dict[UUID, PackageSpec], dict[UUID, Stock]]:
    """The cart's packages and the stock it may change, every such product locked."""
    locked = sales.lock_products(connection, product_ids=product_ids, package_ids=package_ids)
    specs = {s.package_id: s for s in catalog.fetch_package_specs(connection, package_ids)}
    components = {c.product_id for spec in specs.values() for c in spec.components}
    if missing := components - locked.keys():
        # A component added between the two reads (a composition change in flight): lock it
        # too and read again, so every product the sale changes was checked under its lock.
        locked |= sales.lock_products(connection, product_ids=missing, package_ids=())
        specs = {s.package_id: s for s in catalog.fetch_package_specs(connection, package_ids)}
    return {pid: _with_stock(spec, locked) for pid, spec in specs.items()}, locked


def _with_stock(spec: PackageSpec, locked: dict[UUID, Stock]) -> PackageSpec:
    def fresh(component: Component) -> Component:
        stock = locked.get(component.product_id)
        if stock is None:
            return component
        return dataclasses.replace(
            component, current_stock=stock.current_stock, is_active=stock.is_active
        )

    return dataclasses.replace(spec, components=tuple(fresh(c) for c in spec.components))


def _record(
    connection: psycopg.Connection[Any],
    request: SaleRequest,
    sale_id: UUID,
    actor: str,
    now: datetime,
) -> Sale:
    lines = request.lines()
    package_ids, product_ids = line_ids(lines)
    packages, locked = _locked_specs(connection, package_ids, product_ids)
    products = {pid: locked[pid] for pid in product_ids if pid in locked}
    refuse_unknown(lines, packages, products)
    check = check_cart(lines, packages, products)
    _refuse_inactive(lines, [r.status for r in check.lines])
    allowed = request.allow_oversell
    if allowed is None:
        allowed = get_settings().allow_oversell
    if check.shortages and not allowed:
        metrics.add_metric(name="SalesRefused", unit=MetricUnit.Count, value=1)
        raise InsufficientStockError(
            "The stock cannot cover this sale; nothing was sold.",
            extra={
                "shortages": [ShortageOut.of(s).model_dump(mode="json") for s in check.shortages]
            },
        )
    sold_at = request.sold_at or now
    deductions = demand_of(lines, packages)
    deducted = sales.record_sale(
        connection,
        sales.SaleRecord(
            sale_id=sale_id,
            order_id=request.order_id,
            sold_at=sold_at,
            oversold=bool(check.shortages),
            lines=lines,
            deductions=deductions,
            note=LedgerNote(MovementKind.SALE, actor, None, sale_id),
        ),
    )
    affected = availability_sql.fetch_availability(
        connection,
        availability_sql.active_packages_changed_by(
            {pid: -amount for pid, amount in deductions.items()}
        ),
        get_settings().package_low_stock_threshold,
    )
    shown, complete = named(affected)
    return Sale(
        sale_id=sale_id,
        order_id=request.order_id,
        sold_at=sold_at.astimezone(UTC),
        oversold=bool(check.shortages),
        deducted=[
            Deduction(
                product_id=d.product_id,
                product_name=d.product_name,
                quantity=deductions[d.product_id],
                stock_after=d.stock_after,
                version=d.version,
            )
            for d in deducted
        ],
        packages=[AvailabilityItem.of(a) for a in shown],
        packages_complete=complete,
    )


def _refuse_inactive(lines: list[CartLine], statuses: list[LineStatus]) -> None:
    inactive = [
        (index, line)
        for index, (line, status) in enumerate(zip(lines, statuses, strict=True))
        if status is LineStatus.INACTIVE
    ]
    if inactive:
        raise ItemsInactiveError(
            "The cart names packages or products that are switched off; nothing was sold.",
            details=[
                FieldProblem(
                    "body",
                    f"/items/{index}/"
                    + ("package_id" if isinstance(line, PackageLine) else "product_id"),
                    "inactive",
                )
                for index, line in inactive
            ],
        )
