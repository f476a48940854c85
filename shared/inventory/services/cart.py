"""The cart check: read what the cart names (one or two statements), decide with the rules."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any
from uuid import UUID

import psycopg

from inventory.data import catalog
from inventory.data.stock import fetch_stock
from inventory.errors import ErrorCode, FieldProblem, InvalidRequestError
from inventory.models.cart import CartRequest, CartValidation
from inventory.rules.cart import CartLine, PackageLine, ProductLine, check_cart


class UnknownCartItemsError(InvalidRequestError):
    """The cart names packages or products that do not exist (422: the body is at fault)."""

    code = ErrorCode.UNKNOWN_ITEMS


def _id_key(line: CartLine) -> str:
    return "package_id" if isinstance(line, PackageLine) else "product_id"


def _id_of(line: CartLine) -> UUID:
    return line.package_id if isinstance(line, PackageLine) else line.product_id


def _unique(ids: list[UUID]) -> list[UUID]:
    return list(dict.fromkeys(ids))


def validate_cart(connection: psycopg.Connection[Any], request: CartRequest) -> CartValidation:
    """Whether the whole cart can be sold at once; unknown ids are a 422 naming each of them.

    This is a snapshot, not a reservation: stock may change right after the answer.
    """
    lines = request.lines()
    package_ids, product_ids = line_ids(lines)
    packages = (
        {spec.package_id: spec for spec in catalog.fetch_package_specs(connection, package_ids)}
        if package_ids
        else {}
    )
    products = fetch_stock(connection, product_ids) if product_ids else {}
    refuse_unknown(lines, packages, products)
    return CartValidation.of(check_cart(lines, packages, products))


def line_ids(lines: Sequence[CartLine]) -> tuple[list[UUID], list[UUID]]:
    """The packages and the products the lines name, each once, in line order."""
    return (
        _unique([line.package_id for line in lines if isinstance(line, PackageLine)]),
        _unique([line.product_id for line in lines if isinstance(line, ProductLine)]),
    )


def refuse_unknown(
    lines: Sequence[CartLine], packages: Collection[UUID], products: Collection[UUID]
) -> None:
    """UnknownCartItemsError (422) naming each line whose id is in neither collection read."""
    unknown = [
        (index, line)
        for index, line in enumerate(lines)
        if _id_of(line) not in (packages if isinstance(line, PackageLine) else products)
    ]
    if unknown:
        problems = [
            FieldProblem("body", f"/items/{index}/{_id_key(line)}", "no such id")
            for index, line in unknown
        ]
        names = dict.fromkeys(f"{_id_key(line)} {_id_of(line)}" for _, line in unknown)
        raise UnknownCartItemsError("Unknown items: " + ", ".join(names) + ".", details=problems)
