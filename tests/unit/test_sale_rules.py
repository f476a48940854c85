"""A sale's pure parts: the cart's exact demand, a movement's level, the idempotency key."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from inventory.callers import Caller
from inventory.errors import MalformedRequestError
from inventory.rules.availability import Component, PackageSpec
from inventory.rules.cart import CartLine, PackageLine, ProductLine, demand_of
from inventory.rules.stock_movements import MovementKind, level_after, signed_delta
from inventory.services.idempotent_writes import body_hash, idempotency_key, request_of

RUM, LIME, MINT = (uuid.UUID(int=n) for n in (1, 2, 3))
MOJITO, DAIQUIRI = uuid.UUID(int=10), uuid.UUID(int=11)


def _package(
    package_id: uuid.UUID, *components: tuple[uuid.UUID, str], active: bool = True
) -> PackageSpec:
    return PackageSpec(
        package_id=package_id,
        package_name=str(package_id),
        components=tuple(
            Component(pid, str(pid), Decimal(q), current_stock=Decimal(0)) for pid, q in components
        ),
        is_active=active,
    )


def test_demand_sums_every_line_on_each_shared_component_exactly() -> None:
    packages = {
        MOJITO: _package(MOJITO, (RUM, "0.05"), (LIME, "0.5"), (MINT, "0.1")),
        DAIQUIRI: _package(DAIQUIRI, (RUM, "0.06"), (LIME, "0.3")),
    }
    lines: list[CartLine] = [
        PackageLine(MOJITO, 3),
        PackageLine(DAIQUIRI, 1),
        ProductLine(LIME, Decimal("0.2")),
        PackageLine(MOJITO, 1),
    ]
    assert demand_of(lines, packages) == {
        RUM: Decimal("0.26"),  # 4 x 0.05 + 0.06
        LIME: Decimal("2.5"),  # 4 x 0.5 + 0.3 + 0.2
        MINT: Decimal("0.4"),
    }
    assert list(demand_of(lines, packages)) == sorted([RUM, LIME, MINT])


def test_an_inactive_package_takes_nothing() -> None:
    packages = {MOJITO: _package(MOJITO, (RUM, "0.05"), active=False)}
    assert demand_of([PackageLine(MOJITO, 2)], packages) == {}


@pytest.mark.parametrize(
    ("kind", "quantity", "current", "after"),
    [
        (MovementKind.RECEIPT, "12", "3", "15"),
        (MovementKind.WASTE, "0.25", "3", "2.75"),
        (MovementKind.WASTE, "5", "3", "-2"),  # stock may go negative: the record was wrong
        (MovementKind.CORRECTION, "-1.5", "3", "1.5"),
        (MovementKind.COUNT, "7", "3", "7"),
        (MovementKind.COUNT, "3", "3", "3"),
    ],
)
def test_a_movement_leaves_the_level_its_kind_says(
    kind: MovementKind, quantity: str, current: str, after: str
) -> None:
    assert level_after(kind, Decimal(quantity), Decimal(current)) == Decimal(after)


def test_only_a_count_sets_the_level_and_a_sale_is_not_posted() -> None:
    assert signed_delta(MovementKind.COUNT, Decimal(4)) is None
    with pytest.raises(ValueError, match="not a movement"):
        signed_delta(MovementKind.SALE, Decimal(1))


@pytest.mark.parametrize("key", ["a", "0b7e6f0c-2f5e-4c51-9d0e-6a1f3b2c4d5e", "x" * 255, "a b"])
def test_a_usable_key_is_taken_as_sent(key: str) -> None:
    assert idempotency_key({"idempotency-key": key}) == key


@pytest.mark.parametrize("key", [None, "", " a", "a ", "x" * 256, "é", "a\nb"])
def test_a_missing_or_unusable_key_is_refused(key: str | None) -> None:
    headers = {} if key is None else {"idempotency-key": key}
    with pytest.raises(MalformedRequestError) as refused:
        idempotency_key(headers)
    assert [(d.location, d.field) for d in refused.value.details] == [("header", "Idempotency-Key")]


def test_the_body_hash_ignores_key_order_and_tells_values_apart() -> None:
    assert body_hash({"a": 1, "b": [1, 2]}) == body_hash({"b": [1, 2], "a": 1})
    assert body_hash({"a": 1}) != body_hash({"a": 2})


def test_the_request_id_is_the_callers_own_per_operation() -> None:
    pos, manager = Caller(sub="s", client_id="pos"), Caller(sub="s", client_id="manager")
    ids = {
        request_of(operation, caller, "k", {}).request_id
        for operation in ("sale", "stock-movement")
        for caller in (pos, manager)
    }
    assert len(ids) == 4
    assert (
        request_of("sale", pos, "k", {}).request_id
        == request_of("sale", pos, "k", {"x": 1}).request_id
    )
