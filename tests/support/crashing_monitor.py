"""A monitor run in a child process that SIGKILLs itself at a named point of its delivery.

`python -m tests.support.crashing_monitor <point> <now-iso>`, with the service's environment.
The points are the steps of services/delivery.py and services/episodes.py, each wrapped in the
real code path (the store's own methods, the real statements): what a crash there leaves behind
is exactly what an OOM kill or a Lambda timeout would leave. Point "none" runs to the end. The
child prints "ready" once imported and connected, then starts its run when a line arrives on its
stdin, so a parent can start children ahead and kill one at a measured moment of its run.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

# How long the insert lingers on the server, so that "during-insert" dies with the statement
# in flight (the parent installs a trigger sleeping longer than this).
DURING_INSERT_KILL_AFTER_SECONDS = 0.15


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _after_call(number: int, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function`, killing the process once its `number`-th call (any thread) has returned."""
    lock, calls = threading.Lock(), [0]

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        with lock:
            calls[0] += 1
            if calls[0] == number:
                die()
        return result

    return wrapped


def _before_call(function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        die()
        return function(*args, **kwargs)

    return wrapped


def _during_call(function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        threading.Timer(DURING_INSERT_KILL_AFTER_SECONDS, die).start()
        return function(*args, **kwargs)

    return wrapped


def install(point: str) -> None:
    """Wrap the step named by `point` ("claim:3", "after-claims", "before-insert", ...)."""
    from inventory.data import delivery_queue, notification_episodes
    from inventory.data.cooldowns.dynamodb import DynamoCooldownStore
    from inventory.services import delivery

    name, _, number = point.partition(":")
    if name == "claim":  # the n-th conditional PutItem has landed
        DynamoCooldownStore._claim = _after_call(int(number), DynamoCooldownStore._claim)  # type: ignore[method-assign]
    elif name == "after-claims":
        DynamoCooldownStore.claim_many = _after_call(1, DynamoCooldownStore.claim_many)  # type: ignore[method-assign]
    elif name == "before-insert":
        delivery.insert_claimed = _before_call(delivery.insert_claimed)  # type: ignore[attr-defined]
    elif name == "during-insert":
        delivery.insert_claimed = _during_call(delivery.insert_claimed)  # type: ignore[attr-defined]
    elif name == "after-commit":
        delivery.insert_claimed = _after_call(1, delivery.insert_claimed)  # type: ignore[attr-defined]
    elif name == "confirm":  # the n-th lease has become a whole window
        DynamoCooldownStore._confirm = _after_call(int(number), DynamoCooldownStore._confirm)  # type: ignore[method-assign]
    elif name == "before-digest":
        DynamoCooldownStore._add_to_digest = _before_call(DynamoCooldownStore._add_to_digest)  # type: ignore[method-assign]
    # Episodes (services/episodes.py): the resolution and the release of its cooldowns.
    elif name == "before-resolve":
        notification_episodes.resolve = _before_call(notification_episodes.resolve)
    elif name == "during-resolve":
        notification_episodes.resolve = _during_call(notification_episodes.resolve)
    elif name == "after-resolve":
        notification_episodes.resolve = _after_call(1, notification_episodes.resolve)
    elif name == "after-rearm":  # the entries are deleted, the episodes not marked released
        DynamoCooldownStore.rearm = _after_call(1, DynamoCooldownStore.rearm)  # type: ignore[method-assign]
    # Deliveries (services/dispatch.py): on the queue, not yet marked enqueued.
    elif name == "after-enqueue":
        delivery_queue.send = _after_call(1, delivery_queue.send)
    elif name != "none":
        raise SystemExit(f"unknown kill point {point!r}")


def main(point: str, now_iso: str) -> None:
    from inventory.data.cooldowns import get_cooldown_store
    from inventory.data.db import get_connection
    from inventory.services.monitor import run_monitor

    install(point)
    get_connection()
    get_cooldown_store().ping()
    print("ready", flush=True)
    sys.stdin.readline()
    result = run_monitor(datetime.fromisoformat(now_iso))
    print(result.model_dump_json(), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
