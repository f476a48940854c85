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
    import boto3
    from botocore.config import Config

    from inventory.data.cooldowns import get_cooldown_store
    from inventory.data.cooldowns.dynamodb import DynamoCooldownStore
    from inventory.data.cooldowns.dynamodb_client import MAX_WORKERS
    from inventory.data.db import get_connection
    from inventory.services.monitor import run_monitor

    production = get_cooldown_store()
    assert isinstance(production, DynamoCooldownStore)
    # The production store with a patient client: a dozen runs at once starve moto's server
    # of CPU past the 3 s read timeout, which DynamoDB never comes near. This test is about
    # atomic claims; test_cooldown_lost_answers covers unanswered ones.
    patient = Config(connect_timeout=60, read_timeout=60, max_pool_connections=MAX_WORKERS)
    store = DynamoCooldownStore(
        production.table_name, production.window, client=boto3.client("dynamodb", config=patient)
    )
    # Connect to both stores before the barrier, so the runs really start together.
    get_connection()
    store.ping()
    barrier.wait(timeout=120)
    result = run_monitor(datetime.fromisoformat(now_iso), store=store)
    results.put(result.model_dump(mode="json"))
