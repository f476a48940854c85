"""The demo bar's sales at `make run`'s start, made as a POS terminal makes them: HTTP to the
local API's `POST /api/pos/sales`.

The terminal asks the local issuer's `/oauth2/token` for a token (client credentials of
`local-pos-terminal`, scope `inventory/sales.write`), then sends each cart of
`devtools.demo_data.SALES` with its own `Idempotency-Key` (`demo-sale-1`, ...). The keys are
the same at every start, so a restarted `make run` sends the same requests again and is
answered from the first sale's record, not sold again: Powertools' record in DynamoDB
(journaled in `.local/dynamodb/`), or PostgreSQL's `write_requests` once that one is gone
(expired after a day, or its journal deleted). An answer recorded before this start is told
apart by its `sold_at`, which the first sale set (the carts send none) and which is earlier
than this start.

A sale that is refused (409 `insufficient_stock` when someone emptied the stock first) or
fails (the route down) is one line of the output; the rest of the start-up goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from http.client import HTTPConnection, HTTPException
from typing import Any
from urllib.parse import urlencode, urlsplit

from devtools.demo_data import PACKAGE_NAMES, SALES, package_id, product_id
from devtools.local_issuer import LOCAL_CLIENTS, TOKEN_PATH, basic_auth

ROUTE = "/api/pos/sales"
SCOPE = "inventory/sales.write"
POS_CLIENT = "local-pos-terminal"
# A sale locks, checks and writes in one transaction: well under the function's 15 s.
REQUEST_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class DemoSale:
    key: str  # the Idempotency-Key, the same at every start
    lines: tuple[tuple[str, int], ...]  # (package or product name, quantity)

    @property
    def label(self) -> str:
        return " + ".join(f"{quantity} {name}" for name, quantity in self.lines)

    def body(self) -> dict[str, Any]:
        return {"items": [_line(name, quantity) for name, quantity in self.lines]}


def _line(name: str, quantity: int) -> dict[str, Any]:
    if name in PACKAGE_NAMES:
        return {"package_id": str(package_id(name)), "quantity": quantity}
    return {"product_id": str(product_id(name)), "quantity": quantity}


DEMO_SALES = tuple(DemoSale(key, tuple(lines)) for key, lines in SALES)


def _json(raw: bytes) -> Any:
    """A body's JSON with its decimals exact (the deductions print as the service wrote them)."""
    try:
        return json.loads(raw or b"null", parse_float=Decimal)
    except ValueError:
        return None


class Terminal:
    """A POS terminal's HTTP connection to the API at `api_url` (kept alive across calls)."""

    def __init__(self, api_url: str) -> None:
        parts = urlsplit(api_url)
        self.connection = HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=REQUEST_TIMEOUT_SECONDS
        )

    def call(
        self, method: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, Any]:
        """The status and JSON body of one request."""
        self.connection.request(method, path, body=body, headers=dict(headers))
        response = self.connection.getresponse()
        return response.status, _json(response.read())

    def token(self) -> str:
        """The terminal's token, from the local issuer's client-credentials endpoint."""
        status, answer = self.call(
            "POST",
            TOKEN_PATH,
            urlencode({"grant_type": "client_credentials", "scope": SCOPE}).encode(),
            {
                "Authorization": basic_auth(LOCAL_CLIENTS[POS_CLIENT]),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        if status != 200 or not isinstance(answer, dict) or "access_token" not in answer:
            raise RuntimeError(f"{TOKEN_PATH} answered {status}: {answer}")
        return str(answer["access_token"])

    def sell(self, token: str, sale: DemoSale) -> tuple[int, Any]:
        """The route's status and JSON body for one cart."""
        return self.call(
            "POST",
            ROUTE,
            json.dumps(sale.body()).encode(),
            {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": sale.key,
            },
        )

    def close(self) -> None:
        self.connection.close()


def _figure(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int | Decimal) else str(value)


def describe(sale: DemoSale, status: int, answer: Any, since: datetime) -> str:
    """One line: what the sale deducted, that it was recorded before, or why it was not."""
    head = f"{sale.key} ({sale.label}):"
    data = answer.get("data") if isinstance(answer, dict) else None
    if status == 201 and isinstance(data, dict):
        sold_at = datetime.fromisoformat(str(data["sold_at"]))
        if sold_at < since:
            return (
                f"{head} already recorded, sale {data['sale_id']} of "
                f"{sold_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC (answered from its record)"
            )
        deducted = ", ".join(
            f"{d['product_name']} {_figure(d['quantity'])} ({_figure(d['stock_after'])} left)"
            for d in data.get("deducted", [])
        )
        oversold = " OVERSOLD" if data.get("oversold") else ""
        return f"{head} sale {data['sale_id']}{oversold}, deducted {deducted}"
    return f"{head} not sold: {status} {_refusal(answer)}"


def _refusal(answer: Any) -> str:
    if not isinstance(answer, Mapping):
        return "(no JSON body)"
    error = answer.get("error")
    if not isinstance(error, Mapping):  # API Gateway's own {"message": "Forbidden"}
        return str(answer.get("message", answer))
    text = f"{error.get('code', 'error')}: {error.get('message', '')}"
    shortages: Sequence[Mapping[str, Any]] = error.get("shortages") or []
    if shortages:
        text += " Short: " + ", ".join(
            f"{s['product_name']} (needs {_figure(s['required'])}, "
            f"{_figure(s['available'])} available)"
            for s in shortages
        )
    return text


def sell_demo(api_url: str, sales: Sequence[DemoSale] = DEMO_SALES) -> Iterator[str]:
    """Sell each cart through the API at `api_url`; one line per sale, as it is answered.
    Never raises for a sale that failed: its line says so."""
    since = datetime.now(UTC)  # a sale recorded on an earlier start was sold before this
    terminal = Terminal(api_url)
    try:
        try:
            token = terminal.token()
        except (OSError, HTTPException, RuntimeError) as error:
            yield f"no token from the local issuer, nothing sold: {type(error).__name__}: {error}"
            return
        for sale in sales:
            try:
                status, answer = terminal.sell(token, sale)
            except (OSError, HTTPException) as error:  # refused, reset, timed out
                terminal.close()  # the next request opens a new connection
                yield f"{sale.key} ({sale.label}): not sold: {type(error).__name__}: {error}"
                continue
            yield describe(sale, status, answer, since)
    finally:
        terminal.close()
