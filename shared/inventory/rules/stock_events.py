"""`stock.changed` (issue 18): what a committed sale or stock movement tells the consumers of the
stock event bus, as plain values, and the JSON detail EventBridge carries.

One event per sale or movement. It names every product whose stock it changed (the stock after
it and the product's ledger version, `stock_movements.seq`, which grows in commit order per
product) and every active package whose max sellable it moved. The event id is the id of
its outbox row (`stock_events`), so every copy EventBridge delivers (it is at-least-once), and
every copy a retry publishes again, carries the same id: consumers deduplicate on `event_id`
and order per product by `version`.

Quantities are exact: the detail writes each Decimal as a JSON number with its own digits,
never through a float (`models/numbers.exact_dumps`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

from inventory.models.numbers import exact_dumps

SOURCE = "inventory-automation"
DETAIL_TYPE = "stock.changed"

SALE = "sale"
# A sale's answer and an event name at most this many packages (`named`): an answer's item is
# about 410 bytes of the 400 KB DynamoDB keeps per idempotency record, beside up to 1,000
# deductions of about 170; an event's about 90 of EventBridge's 256 KB.
MAX_PACKAGES = 400
# What changed the stock: a POS sale, or a stock movement of one of the API's kinds.
CAUSES = frozenset({SALE, "receipt", "waste", "correction", "count"})


_Package = TypeVar("_Package")


def named(packages: Sequence[_Package]) -> tuple[Sequence[_Package], bool]:
    """The packages a change moved as an answer or event names them, and whether that is all
    of them: every one, or none beyond MAX_PACKAGES (read the availability routes then)."""
    return (packages, True) if len(packages) <= MAX_PACKAGES else ((), False)


class ProductStock(NamedTuple):
    """A product whose stock the event changed: its stock after it, and its ledger version."""

    product_id: UUID
    stock_after: Decimal
    version: int


class PackageStatus(NamedTuple):
    """A package the change may concern: its whole packages sellable now (None: no limit, no
    components) and its availability status (`rules/availability.Status`'s value)."""

    package_id: UUID
    max_sellable: int | None
    status: str


@dataclass(frozen=True, slots=True)
class StockChanged:
    """One `stock.changed` event. A sale names its sale (`sale_id`), a movement its movement
    (`movement_id`), never both; `occurred_at` is an aware instant (written in UTC)."""

    event_id: UUID
    cause: str
    sale_id: UUID | None
    movement_id: UUID | None
    occurred_at: datetime
    products: tuple[ProductStock, ...]
    packages: tuple[PackageStatus, ...] = ()
    # False: more packages were affected than an event carries (MAX_PACKAGES); read them
    # from the availability routes.
    packages_complete: bool = True

    def __post_init__(self) -> None:
        if self.cause not in CAUSES:
            raise ValueError(f"unknown cause {self.cause!r}: one of {sorted(CAUSES)}")
        if self.cause == SALE and (self.sale_id is None or self.movement_id is not None):
            raise ValueError("a sale's event names its sale_id and no movement_id")
        if self.cause != SALE and (self.movement_id is None or self.sale_id is not None):
            raise ValueError("a stock movement's event names its movement_id and no sale_id")
        if self.occurred_at.utcoffset() is None:
            raise ValueError("occurred_at must be an aware datetime")
        for product in self.products:
            if not product.stock_after.is_finite():
                raise ValueError(f"stock_after of {product.product_id} is not a number")


def utc_instant(moment: datetime) -> str:
    """'2026-03-08T14:05:00.000Z': ISO 8601 in UTC, milliseconds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _optional(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def detail_tree(event: StockChanged) -> Mapping[str, Any]:
    """The detail as plain JSON values (the quantities still Decimals)."""
    return {
        "event_id": str(event.event_id),
        "cause": event.cause,
        "sale_id": _optional(event.sale_id),
        "movement_id": _optional(event.movement_id),
        "occurred_at": utc_instant(event.occurred_at),
        "products": [
            {"product_id": str(p.product_id), "stock_after": p.stock_after, "version": p.version}
            for p in event.products
        ],
        "packages": [
            {"package_id": str(p.package_id), "max_sellable": p.max_sellable, "status": p.status}
            for p in event.packages
        ],
        "packages_complete": event.packages_complete,
    }


def detail_of(event: StockChanged) -> str:
    """The event's `Detail`: compact JSON, each quantity an exact JSON number."""
    return exact_dumps(detail_tree(event))
