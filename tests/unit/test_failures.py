"""Which failed writes may have committed all the same (pure: no server, exceptions only)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from inventory.errors import DatabaseUnreachableError, DependencyUnavailableError
from inventory.failures import may_have_committed


def caused_by(cause: BaseException, outer: Exception | None = None) -> BaseException:
    wrapper = outer or DependencyUnavailableError("The database did not answer.")
    wrapper.__cause__ = cause
    return wrapper


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        # The connection broke with the statement sent: its answer, commit or not, was lost.
        (caused_by(psycopg.OperationalError("server closed the connection unexpectedly")), True),
        (psycopg.OperationalError("consuming input failed: EOF"), True),
        # The server answered with an error: the statement rolled back.
        (caused_by(errors.QueryCanceled("canceling statement due to statement timeout")), False),
        (errors.CheckViolation("violates check constraint"), False),
        (caused_by(errors.AdminShutdown("terminating connection")), False),
        # Nothing was sent: no connection, or a fault before any statement.
        (
            caused_by(
                psycopg.OperationalError("connection refused"),
                DatabaseUnreachableError("The database is unreachable."),
            ),
            False,
        ),
        (RuntimeError("a bug while writing the drafts"), False),
        (KeyboardInterrupt(), False),
    ],
    ids=[
        "broken-connection",
        "bare-broken-connection",
        "statement-timeout",
        "constraint",
        "admin-shutdown",
        "connect-failed",
        "not-a-database-error",
        "interrupt",
    ],
)
def test_only_a_lost_answer_may_have_committed(error: BaseException, expected: bool) -> None:
    assert may_have_committed(error) is expected
