"""Small timing helpers every bench measurement shares (milliseconds, medians)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def median(values: Sequence[float]) -> float:
    return round(statistics.median(values), 1)


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return ms(time.perf_counter() - started), result
