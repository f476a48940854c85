"""Connections that break, answers that are lost, uses that outlast their deadline: the
bound and the retry of data/db.py against the real server (nothing here freezes or restarts
it: tests/integration/handlers/test_database_faults.py has a server of its own for that)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from inventory.config import get_settings
from inventory.data.db import (
    SNAPSHOT_READER,
    Connection,
    get_connection,
    read_in_one_snapshot,
    reset_connection,
    run_on_connection,
    waits_end_by,
)
from inventory.data.db_faults import Rerun
from inventory.errors import DatabaseUnreachableError, DependencyUnavailableError
from tests.support import services
from tests.support.fault_postgres import url_through
from tests.support.fault_proxy import answer_dropping_proxy


def _configure(service_env: pytest.MonkeyPatch, **variables: str) -> None:
    for name, value in variables.items():
        service_env.setenv(name, value)
    get_settings.cache_clear()
    reset_connection()


class Calls:
    """Work that records each run and does what the attempt's entry says."""

    def __init__(self, *steps: Callable[[Connection], Any]) -> None:
        self.steps = steps
        self.backends: list[int] = []

    def __call__(self, connection: Connection) -> Any:
        self.backends.append(connection.info.backend_pid)
        return self.steps[len(self.backends) - 1](connection)


def _terminate_own_backend(connection: Connection) -> Any:
    # What a restart does to a session in the middle of its statement (57P01).
    return connection.execute("SELECT pg_terminate_backend(pg_backend_pid())").fetchone()


def _select_one(connection: Connection) -> Any:
    return connection.execute("SELECT 1 AS one").fetchone()


def test_connections_notice_a_dead_peer_by_keepalives_and_a_user_timeout(db: Any) -> None:
    fd = get_connection().pgconn.socket
    with socket.socket(fileno=os.dup(fd)) as sock:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 5
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 5000


def test_a_read_whose_connection_breaks_under_it_runs_again_on_a_fresh_connection(
    db: Any,
) -> None:
    work = Calls(_terminate_own_backend, _select_one)

    assert run_on_connection(work) == {"one": 1}
    assert len(work.backends) == 2
    assert work.backends[0] != work.backends[1]


def test_a_read_that_breaks_twice_is_a_503(db: Any) -> None:
    work = Calls(_terminate_own_backend, _terminate_own_backend)

    with pytest.raises(DependencyUnavailableError, match=r"^The database did not answer\.$"):
        run_on_connection(work)
    assert len(work.backends) == 2
    assert run_on_connection(_select_one) == {"one": 1}


def test_a_write_that_may_have_committed_is_not_run_again(db: psycopg.Connection[Any]) -> None:
    def insert_then_break(connection: Connection) -> Any:
        connection.execute("INSERT INTO products (name) VALUES ('Written once')")
        return _terminate_own_backend(connection)

    work = Calls(insert_then_break, insert_then_break)

    with pytest.raises(DependencyUnavailableError):
        run_on_connection(work, rerun=Rerun.UNSAFE)
    assert len(work.backends) == 1
    assert db.execute("SELECT count(*) FROM products").fetchone() == (1,)


def test_a_connection_the_server_closed_while_idle_is_replaced_before_a_write(
    db: psycopg.Connection[Any],
) -> None:
    idle = get_connection().info.backend_pid
    db.execute("SELECT pg_terminate_backend(%s, 5000)", (idle,))

    def write(connection: Connection) -> Any:
        return connection.execute(
            "INSERT INTO products (name) VALUES ('After a restart') RETURNING name"
        ).fetchone()

    work = Calls(write)

    assert run_on_connection(work, rerun=Rerun.UNSAFE) == {"name": "After a restart"}
    assert len(work.backends) == 1
    assert work.backends[0] != idle


def test_an_answer_lost_on_its_way_back_is_read_again_but_never_written_again(
    db: psycopg.Connection[Any], database_url: str, service_env: pytest.MonkeyPatch
) -> None:
    # A proxy (RDS Proxy, PgBouncer) that drops the connection after the server did the work.
    with answer_dropping_proxy(database_url) as proxy:
        _configure(service_env, DATABASE_URL=url_through(proxy.url, database_url))

        proxy.drop_answers(b"lost-read")
        assert run_on_connection(
            lambda c: c.execute("SELECT 'lost-read' AS answer").fetchone()
        ) == {"answer": "lost-read"}

        proxy.drop_answers(b"lost-write")
        with pytest.raises(DependencyUnavailableError):
            run_on_connection(
                lambda c: c.execute("INSERT INTO products (name) VALUES ('lost-write')"),
                rerun=Rerun.UNSAFE,
            )
        assert proxy.dropped == 2
    assert db.execute("SELECT name FROM products").fetchall() == [("lost-write",)]


def test_a_statement_timeout_is_a_503_that_keeps_the_connection(
    db: Any, service_env: pytest.MonkeyPatch
) -> None:
    _configure(service_env, DB_STATEMENT_TIMEOUT_MS="200")
    work = Calls(lambda c: c.execute("SELECT pg_sleep(2)").fetchone())
    connection = get_connection()

    with pytest.raises(DependencyUnavailableError, match=r"^The database did not answer\.$"):
        run_on_connection(work)

    assert len(work.backends) == 1  # a slow statement would only be slow again
    assert get_connection() is connection
    assert run_on_connection(_select_one) == {"one": 1}


def test_a_failed_connect_is_not_retried(service_env: pytest.MonkeyPatch) -> None:
    _configure(service_env, DATABASE_URL=f"postgresql://nobody@127.0.0.1:{services.free_port()}/x")
    work = Calls(_select_one)

    with pytest.raises(
        DependencyUnavailableError, match=r"^The database is unreachable\.$"
    ) as caught:
        run_on_connection(work)
    assert work.backends == []
    # Nothing was sent, and the error's class says so.
    assert isinstance(caught.value, DatabaseUnreachableError)


def _sleep_without_statement_timeout(seconds: float) -> Callable[[Connection], Any]:
    # A live server whose statement outlasts the deadline: only the client's bound stops it.
    def sleep(connection: Connection) -> Any:
        connection.execute("SET statement_timeout = 0")
        return connection.execute("SELECT pg_sleep(%s)", (seconds,)).fetchone()

    return sleep


def test_a_use_past_its_deadline_is_cut_there_and_not_retried(
    db: Any, service_env: pytest.MonkeyPatch
) -> None:
    _configure(service_env, DB_DEADLINE_SECONDS="1", DB_STATEMENT_TIMEOUT_MS="900")
    work = Calls(_sleep_without_statement_timeout(10))
    started = time.monotonic()

    with pytest.raises(DependencyUnavailableError, match="did not answer in time"):
        run_on_connection(work)

    assert 0.9 <= time.monotonic() - started < 1.5
    assert len(work.backends) == 1
    assert run_on_connection(_select_one) == {"one": 1}  # a new connection


def test_a_snapshot_read_past_its_deadline_cuts_both_connections_at_once(
    db: Any, service_env: pytest.MonkeyPatch
) -> None:
    _configure(service_env, DB_DEADLINE_SECONDS="1", DB_STATEMENT_TIMEOUT_MS="900")
    sleep = _sleep_without_statement_timeout(10)
    main, reader = get_connection(), get_connection(SNAPSHOT_READER)
    started = time.monotonic()

    with pytest.raises(DependencyUnavailableError, match="did not answer in time"):
        read_in_one_snapshot(sleep, sleep)

    # No cancel request waited on: the reader was cut with the main connection.
    assert time.monotonic() - started < 1.5
    assert (get_connection(), get_connection(SNAPSHOT_READER)) != (main, reader)


def test_a_use_that_ended_is_never_cut_by_its_deadline_passing_later(
    db: Any, service_env: pytest.MonkeyPatch
) -> None:
    _configure(service_env, DB_DEADLINE_SECONDS="1", DB_STATEMENT_TIMEOUT_MS="900")
    backend = get_connection().info.backend_pid

    # Each use ends before its deadline; together they outlast it several times over.
    def short_sleep(connection: Connection) -> Any:
        return connection.execute("SELECT 1 AS one FROM pg_sleep(0.3)").fetchone()

    for _ in range(8):
        assert run_on_connection(short_sleep) == {"one": 1}

    assert get_connection().info.backend_pid == backend  # the same connection throughout


def test_a_run_bound_ends_every_use_inside_it_sooner(
    db: Any, service_env: pytest.MonkeyPatch
) -> None:
    _configure(service_env, DB_DEADLINE_SECONDS="30", DB_STATEMENT_TIMEOUT_MS="900")
    started = time.monotonic()

    with waits_end_by(started + 1), pytest.raises(DependencyUnavailableError):
        run_on_connection(_sleep_without_statement_timeout(10))

    assert time.monotonic() - started < 1.5
