"""Switches that turn one of the monitor's tuning mechanisms off, for `bench --mechanisms`.

Each switch is a context manager: inside it the monitor runs with the mechanism off, done by
monkeypatching the service's modules; outside it, as deployed. This is the only bench module
that names those production internals, so it is the one to adapt when they change. An
observer (also a context manager) watches the runs of both sides and yields its findings,
checked after the run, outside its timing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import psycopg


@dataclass
class SwitchContext:
    database_url: str
    cooldown_table: str
    dynamodb_client: Any  # the bench's own client: its reads are not counted in a run
    rewarm: Callable[[], object]  # one untimed warm monitor run


@dataclass
class Findings:
    """What an observer found in one run: problems fail the bench, notes are reported."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


Switch = Callable[[SwitchContext], AbstractContextManager[None]]
Observer = Callable[[SwitchContext, bool], AbstractContextManager[Findings]]


@dataclass(frozen=True)
class Mechanism:
    name: str
    without: str  # what the run does instead, for the output
    switch_off: Switch
    observe: Observer | None = None


@contextmanager
def _patched(
    owner: Any, name: str, value: Callable[..., Any], *, must_be_called: bool = True
) -> Iterator[None]:
    """`owner.name` replaced by `value` for one run, which must call it: a switch that patches a
    name the service no longer reads (removed, or imported elsewhere) would measure nothing."""
    if not hasattr(owner, name):
        raise LookupError(f"{owner.__name__}.{name} is gone: adapt devtools/bench_mechanisms.py")
    calls = 0

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return value(*args, **kwargs)

    saved = getattr(owner, name)
    setattr(owner, name, counted)
    try:
        yield
    finally:
        setattr(owner, name, saved)
    if must_be_called and calls == 0:
        raise LookupError(
            f"{owner.__name__}.{name} was never called in the run: the switch measured nothing"
        )


# --- split: the problem packages in two parts of the id space, one per connection -----------


@contextmanager
def split_off(_: SwitchContext) -> Iterator[None]:
    """The main connection reads every problem package, the reader only the candidates."""
    from inventory.data.availability_sql import EVERY_PACKAGE, fetch_problem_packages
    from inventory.data.db import read_in_one_snapshot
    from inventory.data.usage import fetch_stockout_candidates
    from inventory.services import monitor, monitor_reads

    def load_alertable_whole(
        settings: Any, now: Any, *, after_export: Callable[[], object] | None = None
    ) -> Any:
        threshold = settings.package_low_stock_threshold

        def problems(connection: Any) -> Any:
            return fetch_problem_packages(connection, threshold, EVERY_PACKAGE)

        def candidates(connection: Any) -> Any:
            return fetch_stockout_candidates(
                connection,
                now,
                lookback_days=settings.stockout_lookback_days,
                prediction_days=settings.stockout_prediction_days,
            )

        found, predicted = read_in_one_snapshot(problems, candidates, after_export=after_export)
        return monitor_reads.AlertableSnapshot(found, predicted)

    # monitor.run calls the name it imported from monitor_reads: that is the one to patch.
    with _patched(monitor, "load_alertable", load_alertable_whole):
        yield


# --- gc-pause: no cyclic garbage collection during a run --------------------------------------


@contextmanager
def gc_pause_off(_: SwitchContext) -> Iterator[None]:
    from inventory.services import monitor

    with _patched(monitor, "cyclic_gc_paused", nullcontext):
        yield


# --- digest: the cooldown digest, and reading it ahead while the SQL runs --------------------


@contextmanager
def digest_off(_: SwitchContext) -> Iterator[None]:
    """The store neither reads nor writes a digest: live keys come from BatchGetItem."""
    from inventory.data.cooldowns.dynamodb import DynamoCooldownStore

    with (
        _patched(DynamoCooldownStore, "_read_digest", lambda self, client: None),
        _patched(
            DynamoCooldownStore,
            "_write_digest",
            lambda self, *args, **kwargs: None,
            # Never reached once the read above found no digest: a belt for the braces.
            must_be_called=False,
        ),
    ):
        yield


def digest_entries(context: SwitchContext) -> int:
    """Entries the current digest names (0: none, or one no longer valid)."""
    from inventory.data.cooldowns import dynamodb_digest
    from inventory.data.cooldowns.dynamodb_client import PARTITION_KEY

    digest = dynamodb_digest.read_digest(
        context.dynamodb_client, context.cooldown_table, PARTITION_KEY
    )
    return len(digest.entries)


@contextmanager
def digest_kept(context: SwitchContext, on: bool) -> Iterator[Findings]:
    """After a run without the digest, the digest must still be there for the next with-run;
    if it is not, a warm run (untimed) writes it again and that is reported."""
    findings = Findings()
    yield findings
    if not on and digest_entries(context) == 0:
        findings.notes.append("a run without the digest left no valid digest: re-warmed")
        context.rewarm()
        if digest_entries(context) == 0:
            findings.problems.append("re-warming did not write a digest")


# --- usage-base: the products' usage over a past span, so a run reads only the rest ----------


@contextmanager
def usage_base_off(context: SwitchContext) -> Iterator[None]:
    """The base stops counting (its state's counter moves on) and is not rebuilt during the
    run; afterwards it counts again (nothing it summed changed meanwhile)."""
    from inventory.services import monitor

    with psycopg.connect(context.database_url, autocommit=True) as connection:
        connection.execute("UPDATE usage_base_state SET changes = changes + 1")
    try:
        with _patched(monitor, "keep_usage_base", lambda *args, **kwargs: False):
            yield
    finally:
        with psycopg.connect(context.database_url, autocommit=True) as connection:
            connection.execute(
                "UPDATE usage_base SET changes = (SELECT changes FROM usage_base_state)"
            )


@contextmanager
def usage_base_seen(_: SwitchContext, on: bool) -> Iterator[Findings]:
    """The candidates' read used the base in every with-run and in no run without it."""
    from inventory.data.usage import fetch_stockout_candidates as real
    from inventory.services import monitor_reads

    built: list[Any] = []

    def recorded(*args: Any, **kwargs: Any) -> Any:
        candidates = real(*args, **kwargs)
        built.append(candidates.usage_base_built_at)
        return candidates

    findings = Findings()
    with _patched(monitor_reads, "fetch_stockout_candidates", recorded):
        yield findings
    if len(built) != 1:
        findings.problems.append(f"the candidates were read {len(built)} times in one run")
    elif on and built[0] is None:
        findings.problems.append("a run with the usage base did not use it")
    elif not on and built[0] is not None:
        findings.problems.append("a run without the usage base used it")


# --- parallel-reads: the two reads side by side on two connections in one snapshot ----------


@contextmanager
def parallel_reads_off(_: SwitchContext) -> Iterator[None]:
    """Both sides one after the other on the main connection, in one REPEATABLE READ READ
    ONLY transaction begun as read_in_one_snapshot begins its own (same work_mem)."""
    from inventory.data import db
    from inventory.services import monitor_reads

    def one_after_the_other(
        first: Callable[[Any], Any],
        second: Callable[[Any], Any],
        *,
        after_export: Callable[[], object] | None = None,
    ) -> tuple[Any, Any]:
        def both(main: Any) -> tuple[Any, Any]:
            try:
                main.execute(db._BEGIN, prepare=False)
                if after_export is not None:
                    after_export()
                return first(main), second(main)
            finally:
                db._end(main)

        return db.run_on_connection(both)

    with _patched(monitor_reads, "read_in_one_snapshot", one_after_the_other):
        yield


MECHANISMS = (
    Mechanism(
        "split",
        "main connection reads every problem package, the reader only the candidates",
        split_off,
    ),
    Mechanism("gc-pause", "cyclic GC left on during the run", gc_pause_off),
    Mechanism(
        "digest",
        "no digest read or written: live keys by consistent BatchGetItem",
        digest_off,
        digest_kept,
    ),
    Mechanism(
        "usage-base",
        "the usage base does not count: the whole window is read",
        usage_base_off,
        usage_base_seen,
    ),
    Mechanism(
        "parallel-reads",
        "both reads one after the other on the main connection, one transaction",
        parallel_reads_off,
    ),
)
