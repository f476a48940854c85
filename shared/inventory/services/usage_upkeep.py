"""Keeping the usage base (data/usage_base.py) current, after a monitor run.

A run reports whether it found a base that counts and when that was built. Without one, or
with one older than usage_base.MAX_AGE, the run rebuilds it for the runs after it (about once
every two hours, or after a late write). A build never fails the run: without a base, runs read
the whole window and are only slower.
"""

from __future__ import annotations

import time
from datetime import datetime

import psycopg
from aws_lambda_powertools.metrics import MetricUnit

from inventory.config import get_settings
from inventory.data.db import run_on_connection
from inventory.data.usage_base import build, needs_build
from inventory.deadline import Deadline
from inventory.errors import InventoryError
from inventory.failures import describe_failure
from inventory.observability import logger, metrics


def keep_usage_base(built_at: datetime | None, now: datetime, deadline: Deadline | None) -> bool:
    """Rebuild the base when due and time allows; True when a base was built."""
    if not needs_build(built_at, now):
        return False
    if deadline is not None and deadline.expired():
        logger.info("Usage base not rebuilt: the run reached its time limit")
        return False
    started = time.perf_counter()
    try:
        lookback_days = get_settings().stockout_lookback_days
        # A recompute, safe to run again after a broken connection: whether the first build
        # committed or not, the second builds the base over the window as it then stands (a
        # first one still running holds the advisory lock, and the second steps aside).
        outcome = run_on_connection(lambda connection: build(connection, lookback_days))
    except (InventoryError, psycopg.Error) as error:
        logger.warning("Usage base not rebuilt", extra={"reason": describe_failure(error)})
        return False
    elapsed_ms = round((time.perf_counter() - started) * 1000)
    if not outcome.built:
        logger.info("Usage base not rebuilt", extra={"reason": outcome.reason})
        return False
    logger.info(
        "Usage base rebuilt", extra={"products": outcome.products, "duration_ms": elapsed_ms}
    )
    metrics.add_metric(name="UsageBaseBuilds", unit=MetricUnit.Count, value=1)
    return True
