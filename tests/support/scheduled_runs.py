"""The clock moved for the handlers (time-machine, moto's delays too) and the scheduled monitor
run at a moment, as EventBridge invokes it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import time_machine

from tests.support.events import FakeLambdaContext, load_event


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    with time_machine.travel(moment, tick=False):
        yield


def monitor_at(moment: datetime) -> dict[str, Any]:
    """One scheduled run at `moment`; its summary (its errors checked empty)."""
    from functions.inventory_monitor import app as inventory_monitor

    with at(moment):
        result: dict[str, Any] = inventory_monitor.lambda_handler(
            load_event("inventory_monitor_scheduled.json"), FakeLambdaContext()
        )
    assert result["success"] is True, result
    assert result["summary"]["errors"] == [], result["summary"]["errors"]
    summary: dict[str, Any] = result["summary"]
    return summary
