"""The run's deadline from the Lambda's remaining time: pure, no I/O."""

from __future__ import annotations

import time
from dataclasses import dataclass

from inventory.deadline import ANSWER_SECONDS, RESERVE_SECONDS, MonotonicDeadline, for_invocation


@dataclass
class Context:
    remaining_ms: int

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_an_invocation_with_time_beyond_the_reserve_may_start_work() -> None:
    assert for_invocation(Context(int((RESERVE_SECONDS + 60) * 1000))).expired() is False


def test_an_invocation_inside_its_reserve_may_start_nothing() -> None:
    assert for_invocation(Context(int(RESERVE_SECONDS * 1000) - 1)).expired() is True
    assert for_invocation(Context(0)).expired() is True


def test_a_monotonic_deadline_expires_at_its_instant() -> None:
    assert MonotonicDeadline.after(0).expired() is True
    assert MonotonicDeadline.after(3600).expired() is False


def test_an_invocation_ends_its_waits_a_moment_before_its_own_end() -> None:
    before = time.monotonic()
    deadline = for_invocation(Context(10_000))
    end = deadline.ends_at()

    assert end is not None
    assert before + 10 - ANSWER_SECONDS <= end <= time.monotonic() + 10 - ANSWER_SECONDS
    assert for_invocation(Context(0)).ends_at() is not None
    assert MonotonicDeadline.after(60).ends_at() is None  # a deadline that knows no end
