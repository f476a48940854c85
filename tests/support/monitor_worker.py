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


def run_monitors_together(
    runs: int, database_url: str, table: str, endpoint: str, now: datetime
) -> list[dict[str, Any]]:
    """`runs` monitor runs at `now`, each in a process of its own, released together; their
    summaries (every process checked to exit cleanly)."""
    import multiprocessing

    environment = {
        "DATABASE_URL": database_url,
        "COOLDOWN_TABLE_NAME": table,
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_DEFAULT_REGION": os.environ["AWS_DEFAULT_REGION"],
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(runs)
    results = context.Queue()
    processes = [
        context.Process(
            target=run_monitor_when_released, args=(environment, now.isoformat(), barrier, results)
        )
        for _ in range(runs)
    ]
    for process in processes:
        process.start()
    summaries: list[dict[str, Any]] = [results.get(timeout=180)["summary"] for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    return summaries
