"""A realistic bar inventory: products with units and par levels, packages sharing
components (some with decimal quantities), and four weeks of sales with a weekday pattern.

Ids are derived from names (uuid5) so `events/` files and README examples can name them.
The stock levels are chosen so every notification type fires on the first monitor run.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

NAMESPACE = uuid.UUID("6f1c1f4e-8a43-4c59-9a3e-2f9d3b7c1a10")


def product_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"product:{name}")


def package_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"package:{name}")


# name, sku, unit, current_stock, par_level
PRODUCTS: list[tuple[str, str, str, str, str | None]] = [
    ("Corona 355ml", "BEER-COR-355", "bottle", "3", "120"),
    ("Heineken 330ml", "BEER-HEI-330", "bottle", "64", "120"),
    ("Stella Artois 330ml", "BEER-STE-330", "bottle", "90", "96"),
    ("Guinness Draught 440ml", "BEER-GUI-440", "can", "40", "48"),
    ("Lager on tap", "BEER-TAP-LAG", "l", "38.5", "100"),
    ("White rum", "SPI-RUM-WHT", "ml", "2100", "7000"),
    ("Dark rum", "SPI-RUM-DRK", "ml", "2800", "3500"),
    ("London dry gin", "SPI-GIN-LDN", "ml", "0", "5250"),
    ("Vodka", "SPI-VOD", "ml", "5600", "7000"),
    ("Tequila blanco", "SPI-TEQ-BLA", "ml", "350", "3500"),
    ("Triple sec", "LIQ-TRS", "ml", "1400", "2100"),
    ("Coffee liqueur", "LIQ-COF", "ml", "700", "1400"),
    ("Angostura bitters", "BIT-ANG", "ml", "180", "200"),
    ("Tonic water 200ml", "MIX-TON-200", "bottle", "36", "72"),
    ("Ginger beer 200ml", "MIX-GIN-200", "bottle", "30", "48"),
    ("Cola 330ml", "MIX-COL-330", "can", "70", "96"),
    ("Soda water", "MIX-SOD", "l", "12", "24"),
    ("Simple syrup", "MIX-SYR", "ml", "1800", "2000"),
    ("Espresso shot", "CAF-ESP", "shot", "200", "300"),
    ("Limes", "FRU-LIM", "unit", "9", "120"),
    ("Lemons", "FRU-LEM", "unit", "40", "60"),
    ("Fresh mint", "HER-MIN", "g", "150", "500"),
    ("Ice", "ICE", "kg", "60", "80"),
    ("Salt", "PAN-SAL", "g", "900", "1000"),
    ("Beef patty", "KIT-PAT", "unit", "22", "60"),
    ("Burger bun", "KIT-BUN", "unit", "30", "60"),
    ("Cheddar slice", "KIT-CHE", "slice", "50", "80"),
    ("Fries portion", "KIT-FRI", "portion", "45", "80"),
    ("Chicken wings", "KIT-WNG", "kg", "4.2", "10"),
    ("Nachos", "KIT-NAC", "portion", "26", "40"),
    ("Guacamole", "KIT-GUA", "portion", "12", "30"),
    ("Souvenir glass", "MER-GLA", "unit", "15", None),
    ("Seasonal cider", "BEER-CID", "bottle", "24", "48"),
]
INACTIVE_PRODUCTS = {"Seasonal cider"}

# name, price, normal_max_sellable, [(component, quantity)]
PACKAGES: list[tuple[str, str, int | None, list[tuple[str, str]]]] = [
    ("Bucket of 5 Coronas", "25.00", None, [("Corona 355ml", "5"), ("Ice", "0.5")]),
    ("Bucket of 5 Heinekens", "25.00", None, [("Heineken 330ml", "5"), ("Ice", "0.5")]),
    ("Corona & Lime", "6.00", None, [("Corona 355ml", "1"), ("Limes", "0.25")]),
    (
        "Mojito",
        "9.50",
        None,
        [
            ("White rum", "50"),
            ("Limes", "0.5"),
            ("Fresh mint", "6"),
            ("Simple syrup", "20"),
            ("Soda water", "0.06"),
            ("Ice", "0.2"),
        ],
    ),
    (
        "Gin & Tonic",
        "9.00",
        None,
        [("London dry gin", "50"), ("Tonic water 200ml", "1"), ("Limes", "0.25"), ("Ice", "0.2")],
    ),
    (
        "Margarita",
        "10.00",
        None,
        [
            ("Tequila blanco", "50"),
            ("Triple sec", "25"),
            ("Limes", "1"),
            ("Salt", "2"),
            ("Ice", "0.2"),
        ],
    ),
    (
        "Moscow Mule",
        "9.50",
        None,
        [("Vodka", "50"), ("Ginger beer 200ml", "1"), ("Limes", "0.25"), ("Ice", "0.2")],
    ),
    (
        "Dark 'n' Stormy",
        "9.50",
        None,
        [("Dark rum", "50"), ("Ginger beer 200ml", "1"), ("Limes", "0.25"), ("Ice", "0.2")],
    ),
    (
        "Espresso Martini",
        "11.00",
        40,
        [("Vodka", "40"), ("Coffee liqueur", "20"), ("Espresso shot", "1"), ("Simple syrup", "10")],
    ),
    ("Cuba Libre", "8.50", None, [("White rum", "50"), ("Cola 330ml", "1"), ("Limes", "0.25")]),
    ("Pint of lager", "5.50", None, [("Lager on tap", "0.568")]),
    (
        "Burger & Pint",
        "16.00",
        30,
        [
            ("Beef patty", "1"),
            ("Burger bun", "1"),
            ("Cheddar slice", "1"),
            ("Fries portion", "1"),
            ("Lager on tap", "0.568"),
        ],
    ),
    ("Wings & Beer", "14.00", None, [("Chicken wings", "0.35"), ("Heineken 330ml", "1")]),
    ("Nachos to share", "9.00", None, [("Nachos", "1"), ("Guacamole", "1")]),
    (
        "Stout & Souvenir glass",
        "12.00",
        None,
        [("Guinness Draught 440ml", "1"), ("Souvenir glass", "1")],
    ),
    ("Cider bucket", "20.00", None, [("Seasonal cider", "4"), ("Ice", "0.5")]),
    ("Tasting flight (coming soon)", "15.00", None, []),
]

# Typical units sold per day of each package and of some products sold alone.
DAILY_PACKAGE_SALES = {
    "Bucket of 5 Coronas": 2,
    "Bucket of 5 Heinekens": 2,
    "Corona & Lime": 4,
    "Mojito": 9,
    "Gin & Tonic": 8,
    "Margarita": 6,
    "Moscow Mule": 4,
    "Dark 'n' Stormy": 2,
    "Espresso Martini": 5,
    "Cuba Libre": 3,
    "Pint of lager": 30,
    "Burger & Pint": 6,
    "Wings & Beer": 5,
    "Nachos to share": 3,
    "Stout & Souvenir glass": 1,
}
DAILY_PRODUCT_SALES = {
    "Heineken 330ml": 10,
    "Stella Artois 330ml": 8,
    "Cola 330ml": 6,
    "Espresso shot": 12,
}
# Friday and Saturday are busy, Monday quiet.
WEEKDAY_FACTOR = [0.6, 0.8, 0.9, 1.0, 1.5, 1.8, 1.2]


def _sales(now: datetime, days: int = 28) -> list[tuple[Any, ...]]:
    rng = random.Random(20251021)
    rows: list[tuple[Any, ...]] = []
    for day in range(days, 0, -1):
        date = (now - timedelta(days=day)).replace(hour=12, minute=0, second=0, microsecond=0)
        factor = WEEKDAY_FACTOR[date.weekday()]
        for lines, to_id, column in (
            (DAILY_PACKAGE_SALES, package_id, "package"),
            (DAILY_PRODUCT_SALES, product_id, "product"),
        ):
            for name, per_day in lines.items():
                count = max(0, round(rng.gauss(per_day * factor, per_day * 0.2)))
                if count == 0:
                    continue
                at = date + timedelta(hours=rng.randint(0, 11), minutes=rng.randint(0, 59))
                ref = to_id(name)
                rows.append(
                    (
                        ref if column == "product" else None,
                        ref if column == "package" else None,
                        Decimal(count),
                        at,
                    )
                )
    return rows


def load_demo(connection: psycopg.Connection[Any], *, now: datetime | None = None) -> bool:
    """Load the demo bar when the catalogue is empty. Returns whether anything was loaded."""
    now = now or datetime.now(UTC)
    with connection.transaction(), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM products")
        row = cursor.fetchone()
        if row is not None and row[0] > 0:
            return False
        cursor.executemany(
            "INSERT INTO products (id, name, sku, unit, current_stock, par_level, is_active)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    product_id(n),
                    n,
                    sku,
                    unit,
                    Decimal(stock),
                    Decimal(par) if par else None,
                    n not in INACTIVE_PRODUCTS,
                )
                for n, sku, unit, stock, par in PRODUCTS
            ],
        )
        cursor.executemany(
            "INSERT INTO packages (id, name, price, normal_max_sellable) VALUES (%s, %s, %s, %s)",
            [(package_id(n), n, Decimal(price), normal) for n, price, normal, _ in PACKAGES],
        )
        cursor.executemany(
            "INSERT INTO package_items (package_id, product_id, quantity) VALUES (%s, %s, %s)",
            [
                (package_id(n), product_id(component), Decimal(quantity))
                for n, _, _, items in PACKAGES
                for component, quantity in items
            ],
        )
        with cursor.copy(
            "COPY order_items (product_id, package_id, quantity, created_at) FROM STDIN"
        ) as copy:
            for sale in _sales(now):
                copy.write_row(sale)
    return True


# The demo's delivery (`make run`, on the first start): the gin that sold out arrives, which
# ends the episodes of every alert it caused.
DELIVERY = ("London dry gin", Decimal(5250), "ml")


def deliver(connection: psycopg.Connection[Any], name: str, quantity: Decimal) -> None:
    """Stock arrives: `quantity` more of the product `name`."""
    connection.execute(
        "UPDATE products SET current_stock = current_stock + %s WHERE id = %s",
        (quantity, product_id(name)),
    )


# The demo's sales (`make run`, every start, before the first monitor run): carts a POS
# terminal sells through POST /api/pos/sales, each under an Idempotency-Key of its own that
# stays the same from start to start, so a restart's retry is answered from the first
# sale's record and nothing is sold twice. A line names a package or a product; each cart's
# lines share a component. Chosen to leave the first monitor run's alerts as they were: no
# package crosses its low mark (Mojito would after two Mojitos and a Cuba Libre), and the
# products near the stockout horizon (ice, cheddar, cola) are barely touched.
SALES: list[tuple[str, list[tuple[str, int]]]] = [
    ("demo-sale-1", [("Moscow Mule", 1), ("Dark 'n' Stormy", 1)]),  # ginger beer, limes, ice
    ("demo-sale-2", [("Wings & Beer", 2), ("Heineken 330ml", 2)]),  # Heineken
    ("demo-sale-3", [("Stout & Souvenir glass", 1), ("Guinness Draught 440ml", 1)]),  # Guinness
]
PACKAGE_NAMES = frozenset(name for name, _, _, _ in PACKAGES)


def holds_packages(connection: psycopg.Connection[Any], names: list[str]) -> bool:
    """Whether the database has every one of these demo packages (it is the demo bar)."""
    ids = [package_id(name) for name in set(names)]
    row = connection.execute("SELECT count(*) FROM packages WHERE id = ANY(%s)", (ids,)).fetchone()
    return row is not None and row[0] == len(ids)
