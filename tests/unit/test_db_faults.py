"""Which failed database uses run again on a fresh connection: pure, no I/O."""

from __future__ import annotations

import pytest

from inventory.data.db_faults import (
    MIN_SECONDS_TO_RETRY,
    QUERY_CANCELED,
    Fault,
    Rerun,
    classify,
    may_retry,
    message,
)

ADMIN_SHUTDOWN = "57P01"  # a restart's "terminating connection due to administrator command"


def test_a_connection_that_broke_under_its_statement_is_broken() -> None:
    fault = classify(connecting=False, severed=False, sqlstate=ADMIN_SHUTDOWN, broken=True)
    assert fault is Fault.BROKEN
    assert classify(connecting=False, severed=False, sqlstate=None, broken=True) is Fault.BROKEN


def test_a_connect_that_failed_is_a_connect_fault_whatever_else_is_true() -> None:
    assert classify(connecting=True, severed=True, sqlstate=None, broken=True) is Fault.CONNECT


def test_a_connection_cut_by_the_deadline_is_the_deadline_not_a_break() -> None:
    assert classify(connecting=False, severed=True, sqlstate=None, broken=True) is Fault.DEADLINE


def test_a_statement_timeout_is_a_cancel_even_on_a_broken_connection() -> None:
    for broken in (False, True):
        fault = classify(connecting=False, severed=False, sqlstate=QUERY_CANCELED, broken=broken)
        assert fault is Fault.CANCELLED


def test_an_error_on_a_live_connection_is_an_answer() -> None:
    fault = classify(connecting=False, severed=False, sqlstate="40001", broken=False)
    assert fault is Fault.ANSWERED


def test_only_a_broken_connection_under_safe_work_is_retried_once_with_time_left() -> None:
    assert may_retry(Fault.BROKEN, Rerun.SAFE, attempts=1, seconds_left=10) is True
    assert may_retry(Fault.BROKEN, Rerun.SAFE, attempts=2, seconds_left=10) is False
    assert may_retry(Fault.BROKEN, Rerun.UNSAFE, attempts=1, seconds_left=10) is False


@pytest.mark.parametrize("fault", [Fault.CONNECT, Fault.DEADLINE, Fault.CANCELLED, Fault.ANSWERED])
def test_no_other_fault_is_retried(fault: Fault) -> None:
    assert may_retry(fault, Rerun.SAFE, attempts=1, seconds_left=10) is False


def test_a_retry_needs_time_for_its_connect() -> None:
    # libpq's connect_timeout is never below 2 s: less would let the retry outlast the deadline.
    assert may_retry(Fault.BROKEN, Rerun.SAFE, attempts=1, seconds_left=MIN_SECONDS_TO_RETRY)
    left = MIN_SECONDS_TO_RETRY - 0.01
    assert may_retry(Fault.BROKEN, Rerun.SAFE, attempts=1, seconds_left=left) is False


def test_messages_name_no_driver_text() -> None:
    assert message(Fault.CONNECT) == "The database is unreachable."
    assert message(Fault.DEADLINE) == "The database did not answer in time."
    assert message(Fault.BROKEN) == message(Fault.CANCELLED) == "The database did not answer."
