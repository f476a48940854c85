"""Counting a DynamoDB client's requests and the read units its answers cost.

Read units as DynamoDB bills them: GetItem and BatchGetItem one unit per 4 KB of each item
read (at least one per key asked for, found or not), half that for eventually consistent
reads; Query and Scan the same over the sum of the items of one answer. Only what comes back
is sized here, while DynamoDB charges a projected read on the full item, so a projected read
of large items counts too few here (cooldown entries are far below 4 KB: one unit each).
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from decimal import Decimal
from typing import Any

READ_UNIT_BYTES = 4096
# Our keys in botocore's per-request context: what the answer alone does not tell.
_CONSISTENT = "bench_consistent_read"
_ASKED = "bench_keys_asked"


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value, by DynamoDB's item size rules."""
    ((kind, content),) = value.items()
    if kind == "S":
        return len(str(content).encode())
    if kind == "N":
        return _number_size(str(content))
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode()) for s in content)
    if kind == "NS":
        return sum(_number_size(str(n)) for n in content)
    if kind == "BS":
        return sum(len(b) for b in content)
    if kind == "L":
        return 3 + sum(1 + attribute_size(element) for element in content)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + attribute_size(v) for k, v in content.items())
    raise ValueError(f"unknown DynamoDB attribute type {kind}")


def _number_size(text: str) -> int:
    digits = Decimal(text).as_tuple().digits
    significant = "".join(map(str, digits)).strip("0") or "0"
    return 1 + math.ceil(len(significant) / 2)


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def _units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


class DynamoDBCounter:
    """Attached to one client: its HTTP requests, its calls by operation, its read units."""

    def __init__(self, client: Any) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.read_units = 0.0
        self.operations: Counter[str] = Counter()
        events = client.meta.events
        events.register("before-send.dynamodb", self._sent)
        events.register("before-parameter-build.dynamodb", self._note_consistency)
        events.register("after-call.dynamodb", self._answered)

    def _sent(self, **_: Any) -> None:
        with self._lock:
            self.requests += 1

    def _note_consistency(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "RequestItems" in params:  # BatchGetItem (and BatchWriteItem): per table
            tables = {t: r for t, r in params["RequestItems"].items() if isinstance(r, dict)}
            context[_CONSISTENT] = {t: bool(r.get("ConsistentRead")) for t, r in tables.items()}
            context[_ASKED] = {t: len(r.get("Keys", [])) for t, r in tables.items()}
        else:
            context[_CONSISTENT] = bool(params.get("ConsistentRead"))

    def _answered(
        self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        units = self._read_units(
            model.name, parsed, context.get(_CONSISTENT, False), context.get(_ASKED, {})
        )
        with self._lock:
            self.operations[model.name] += 1
            self.read_units += units

    @staticmethod
    def _read_units(
        operation: str, parsed: dict[str, Any], consistent: Any, asked: dict[str, int]
    ) -> float:
        if operation == "GetItem":
            item = parsed.get("Item")
            return _units(0 if item is None else item_size(item), bool(consistent))
        if operation == "BatchGetItem":
            tables = consistent if isinstance(consistent, dict) else {}
            units = 0.0
            for table, items in parsed.get("Responses", {}).items():
                units += sum(_units(item_size(item), tables.get(table, False)) for item in items)
            for table, count in asked.items():
                unprocessed = parsed.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
                found = len(parsed.get("Responses", {}).get(table, []))
                units += max(0, count - found - len(unprocessed)) * _units(
                    0, tables.get(table, False)
                )
            return units
        if operation in ("Query", "Scan"):
            size = sum(item_size(item) for item in parsed.get("Items", []))
            return _units(size, bool(consistent))
        return 0.0
