"""What a failed database use was, and whether running it again on a fresh connection is safe.

Pure decisions on plain values (data/db.py gathers them from the driver), so every case is
tested without a server. Only a connection that broke under a statement is worth a retry: the
server restarted, failed over, or a proxy recycled the connection, and a new connection
usually works at once. The other faults would only fail again, or cost time the caller does
not have: a failed connect (the server is down or unreachable), the use's deadline (the server
stopped answering), a statement cancelled by `statement_timeout` (the server is alive, the
statement too slow), an error the server answered.
"""

from __future__ import annotations

from enum import StrEnum

# SQLSTATE of a cancelled statement: statement_timeout, or a cancel request.
QUERY_CANCELED = "57014"
# libpq's connect_timeout counts whole seconds and never less than 2: a retry starts only when
# its connect can still fit inside the deadline.
MIN_SECONDS_TO_RETRY = 2.0
MAX_ATTEMPTS = 2


class Fault(StrEnum):
    CONNECT = "connect"  # no connection could be opened
    DEADLINE = "deadline"  # the use outlasted its deadline: the watchdog cut the connection
    CANCELLED = "cancelled"  # statement_timeout (or a cancel) stopped the statement
    BROKEN = "broken"  # the connection broke under the statement
    ANSWERED = "answered"  # an error the server answered on a live connection


class Rerun(StrEnum):
    """What running a use's work a second time would do."""

    SAFE = "safe"  # reads, and writes that leave the same state when run twice
    UNSAFE = "unsafe"  # a write that may have committed before its connection broke


def classify(*, connecting: bool, severed: bool, sqlstate: str | None, broken: bool) -> Fault:
    """The fault of a failed use, from what the driver said and what the use saw."""
    if connecting:
        return Fault.CONNECT
    if severed:
        return Fault.DEADLINE
    if sqlstate == QUERY_CANCELED:
        return Fault.CANCELLED
    if broken:
        return Fault.BROKEN
    return Fault.ANSWERED


def may_retry(fault: Fault, rerun: Rerun, *, attempts: int, seconds_left: float) -> bool:
    """Once, for a broken connection, when the work is safe to run again and time is left."""
    return (
        fault is Fault.BROKEN
        and rerun is Rerun.SAFE
        and attempts < MAX_ATTEMPTS
        and seconds_left >= MIN_SECONDS_TO_RETRY
    )


_MESSAGES = {
    Fault.CONNECT: "The database is unreachable.",
    Fault.DEADLINE: "The database did not answer in time.",
}


def message(fault: Fault) -> str:
    """What the 503 says (no driver text: it may quote SQL or the server's address)."""
    return _MESSAGES.get(fault, "The database did not answer.")
