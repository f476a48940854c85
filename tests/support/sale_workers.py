"""POST /api/pos/sales handled by processes of their own, released together by a barrier.

Lambda runs one request at a time per container, and the handler's process is built for
that: `data/db.py` hands every thread the one main connection (its lock guards the cache, not
the use), and a transaction is that connection's state, so two threads' sales would run in
one transaction (tried with twenty threads: psycopg's OutOfOrderTransactionNesting, and every
sale a 500 or a 503); the resolver keeps the current event on the module's `app`, and
Powertools' configuration holds the registered invocation context. Concurrent sales are
therefore concurrent processes, as concurrent Lambda containers are.

The processes are forked by a forkserver that has imported the handler (nothing connects or
reads the environment at import, `docs/ARCHITECTURE.md`), so a worker costs a fork and its
connections rather than a second of imports each. Each takes the test's environment,
connects to PostgreSQL and DynamoDB (a rejected request warms the resolver), then waits at
the barrier with the others before each of its sales.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import psycopg

# What the forkserver imports once, before it forks any worker.
PRELOAD = ["tests.support.sale_worker_preload", "tests.support.sale_workers"]
ROOT = Path(__file__).resolve().parents[2]
BARRIER_SECONDS = 120.0
PATIENT_READ_SECONDS = 60.0
ANSWER_SECONDS = 180.0


@dataclass(frozen=True, slots=True)
class Sale:
    """One request: a body under an Idempotency-Key, in an invocation with this much time."""

    body: dict[str, Any]
    key: str
    remaining_ms: int = 15_000


@dataclass(frozen=True, slots=True)
class Answer:
    """The handler's response, as a client sees it."""

    status: int
    headers: dict[str, str]
    body: str
    json: Any = field(compare=False)

    @classmethod
    def of(cls, response: dict[str, Any]) -> Answer:
        from tests.support.events import response_json

        return cls(
            status=int(response["statusCode"]),
            headers=dict(response.get("headers") or {}),
            body=response["body"],
            json=response_json(response),
        )

    @property
    def error_code(self) -> str | None:
        error = self.json.get("error") if isinstance(self.json, dict) else None
        return None if error is None else str(error["code"])


@dataclass(frozen=True, slots=True)
class WorkerResult:
    backend_pid: int  # its PostgreSQL backend, gone once the worker has exited
    answers: list[Answer]


def forkserver() -> BaseContext:
    """The forkserver context, its server started with PRELOAD imported."""
    from multiprocessing import forkserver as server

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    # Python 3.11's forkserver is given the parent's sys.path but does not apply it before its
    # preload (the workers it forks do), and an import that fails there is skipped in silence:
    # the repository's paths (pytest's `pythonpath`) reach it through PYTHONPATH instead.
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "shared")])
    try:
        server.ensure_running()
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    return context


def service_environment(**overrides: str) -> dict[str, str]:
    """The environment the fixtures gave this process (database, table, moto endpoint)."""
    return {**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING", **overrides}


def _take_environment(environment: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(environment)


def _invoke(sale: Sale) -> dict[str, Any]:
    from functions.pos_sale import app
    from tests.support.events import FakeLambdaContext, http_event

    event = http_event("pos_sale.json", body=sale.body)
    event["headers"]["idempotency-key"] = sale.key
    response: dict[str, Any] = app.lambda_handler(
        event, FakeLambdaContext(remaining_ms=sale.remaining_ms)
    )
    return response


def _warm_up() -> int:
    """Connected to both stores and the resolver's first request served; the backend's pid."""
    from inventory.config import get_settings
    from inventory.data.db import get_connection
    from inventory.data.idempotency_records import persistence_layer
    from inventory.services.sales import OPERATION

    # Forked from the preloaded server, or each worker would import for a second.
    assert "tests.support.sale_worker_preload" in sys.modules, "the forkserver did not preload"
    pid = get_connection().info.backend_pid
    layer = persistence_layer(OPERATION)
    layer.client.describe_table(TableName=get_settings().idempotency_table_name)
    # A body the resolver validates, without a key: a 400 before any store is touched.
    unkeyed = _invoke(Sale(body={"items": [{"product_id": _NO_PRODUCT, "quantity": 1}]}, key=""))
    assert unkeyed["statusCode"] == 400, unkeyed
    return int(pid)


_NO_PRODUCT = "00000000-0000-4000-8000-000000000000"


def sell_when_released(
    environment: dict[str, str], sales: Sequence[Sale], barrier: Any, results: Any, index: int
) -> None:
    """Each of `sales` in turn, each once every worker has reached the barrier; the worker's
    result, or its traceback (and the barrier broken, so that the others stop waiting)."""
    _take_environment(environment)
    from inventory.data import idempotency_records
    from inventory.data.db import reset_connection

    # The production client with patient reads: moto's server is one Python process, and
    # fifty requests at once on two busy CPUs can keep one waiting past the 2 s read timeout,
    # which DynamoDB never comes near. A claim whose answer is late or lost is not what these
    # workers test (test_sale_crashes.py loses one on purpose).
    idempotency_records._READ_TIMEOUT_SECONDS = PATIENT_READ_SECONDS
    try:
        pid = _warm_up()
        answers = []
        for sale in sales:
            barrier.wait(timeout=BARRIER_SECONDS)
            answers.append(Answer.of(_invoke(sale)))
        reset_connection()  # the backend ends now, and flushes its statistics
    except BaseException:
        barrier.abort()
        results.put((index, traceback.format_exc()))
        raise
    results.put((index, WorkerResult(pid, answers)))


def sell_together(
    environment: dict[str, str], turns: Sequence[Sequence[Sale]]
) -> list[WorkerResult]:
    """One process per element of `turns`, each selling its sales in order; the n-th sales of
    all processes are released together. Their results in the order of `turns` (every process
    checked to have exited cleanly)."""
    context = forkserver()
    barrier = context.Barrier(len(turns))
    results = context.Queue()
    processes = [
        context.Process(  # type: ignore[attr-defined]
            target=sell_when_released, args=(environment, sales, barrier, results, index)
        )
        for index, sales in enumerate(turns)
    ]
    for process in processes:
        process.start()
    try:
        collected = dict(results.get(timeout=ANSWER_SECONDS) for _ in processes)
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.exitcode is None:
                process.kill()
    failures = [f for f in collected.values() if isinstance(f, str)]
    # The first cause, rather than the broken barrier it left the others.
    failures.sort(key=lambda failure: "BrokenBarrierError" in failure)
    assert not failures, f"{len(failures)} workers failed; the first:\n{failures[0]}"
    assert [p.exitcode for p in processes] == [0] * len(processes)
    return [collected[index] for index in range(len(turns))]


def sold_together(
    connection: psycopg.Connection[Any], turns: Sequence[Sequence[Sale]]
) -> tuple[list[Answer], int]:
    """`sell_together`'s answers, every worker's in order, and the deadlocks the server
    detected in the test's database meanwhile (read once every worker's backend has ended)."""
    before = deadlocks(connection)
    results = sell_together(service_environment(), turns)
    wait_until_ended(connection, [r.backend_pid for r in results])
    return [a for r in results for a in r.answers], deadlocks(connection) - before


# A sale killed at a point of its run (tests/integration/sales/test_sale_crashes.py).

AFTER_COMMIT = "after-commit"  # PostgreSQL committed; Powertools has not stored the answer
BEFORE_COMMIT = "before-commit"  # the sale written in its open transaction, not committed


def _hang_first(
    function: Callable[..., Any], answer_of: Callable[..., str], signals: Any
) -> Callable[..., Any]:
    """`function`, which tells the parent the answer it was given and then waits to be killed."""

    def hanging(*args: Any, **kwargs: Any) -> Any:
        signals.put(answer_of(*args, **kwargs))
        time.sleep(3600)
        return function(*args, **kwargs)

    return hanging


def _install(point: str, signals: Any) -> None:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from inventory.data import write_requests

    if point == AFTER_COMMIT:
        # Powertools calls it with the write's result once `write()` has returned: after the
        # sale's transaction committed, before the record says COMPLETED.
        DynamoDBPersistenceLayer.save_success = _hang_first(  # type: ignore[method-assign]
            DynamoDBPersistenceLayer.save_success,
            lambda _layer, data, result: str(result["answer"]),
            signals,
        )
    elif point == BEFORE_COMMIT:
        # The last statement of the sale's transaction, with the answer it stores.
        write_requests.record_answer = _hang_first(
            write_requests.record_answer,
            lambda _connection, _request_id, answer_json: str(answer_json),
            signals,
        )
    else:
        raise ValueError(f"unknown kill point {point!r}")


def sell_and_hang(environment: dict[str, str], sale: Sale, point: str, signals: Any) -> None:
    _take_environment(environment)
    try:
        _install(point, signals)
        _warm_up()
        _invoke(sale)
    finally:
        signals.put(None)  # reached only when the sale never passed the point


@dataclass
class HangingSale:
    process: Any
    answer_json: str  # what the sale would have answered

    def kill(self) -> None:
        import signal

        os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(timeout=30)
        assert self.process.exitcode == -signal.SIGKILL


def start_hanging_sale(environment: dict[str, str], sale: Sale, point: str) -> HangingSale:
    """A sale in a process of its own, held at `point` until killed."""
    context = forkserver()
    signals = context.Queue()
    process = context.Process(  # type: ignore[attr-defined]
        target=sell_and_hang, args=(environment, sale, point, signals)
    )
    process.start()
    answer = signals.get(timeout=ANSWER_SECONDS)
    assert answer is not None, f"the sale never reached {point}"
    return HangingSale(process, answer)


# What the workers leave in PostgreSQL's own statistics.


def deadlocks(connection: psycopg.Connection[Any]) -> int:
    """The deadlocks the server has detected in this database (pg_stat_database)."""
    row = connection.execute(
        "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
    ).fetchone()
    assert row is not None
    return int(row[0])


def wait_until_ended(connection: psycopg.Connection[Any], pids: Sequence[int]) -> None:
    """Until none of these backends is left: each has flushed its statistics as it ended."""
    deadline = time.monotonic() + 30
    while connection.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (list(pids),)
    ).fetchone() != (0,):
        assert time.monotonic() < deadline, "worker backends still running"
        time.sleep(0.05)
