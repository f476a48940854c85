"""A monitor run in a separate process, started together with others by a barrier.

Used by the concurrency test through multiprocessing's spawn start method: the child gets
a fresh interpreter (no inherited connections or boto3 clients) and imports only this.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any


def run_monitor_when_released(
    environment: dict[str, str], now_iso: str, barrier: Any, results: Any
) -> None:
    os.environ.update(environment)
    from inventory.data.cooldowns import get_cooldown_store
    from inventory.data.db import get_connection
    from inventory.services.monitor import run_monitor

    # Connect to both stores before the barrier, so the runs really start together.
    get_connection()
    get_cooldown_store().ping()
    barrier.wait(timeout=120)
    result = run_monitor(datetime.fromisoformat(now_iso))
    results.put(result.model_dump(mode="json"))
