"""How long a run may keep starting work: the Lambda's remaining time, less a reserve.

The monitor claims cooldowns until its deadline and then stores what it claimed. Without one,
a run that outgrows its function timeout (a first run over a large catalogue, a throttled
table) would be killed between its claims and its insert, and the claimed alerts would stay
silent for a whole cooldown window. Work not started in time is deferred to the next run.
The invocation's end, later, bounds every database wait of the run (data/db.waits_end_by).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


class Deadline(Protocol):
    def expired(self) -> bool:
        """True once no new work may start."""
        ...

    def ends_at(self) -> float | None:
        """The `time.monotonic()` instant the invocation must have answered by: no database
        wait may outlast it. None when not known."""
        ...


@dataclass(frozen=True, slots=True)
class MonotonicDeadline:
    """Expires at a `time.monotonic()` instant; `end`, when known, is the invocation's."""

    at: float
    end: float | None = None

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def ends_at(self) -> float | None:
        return self.end

    @classmethod
    def after(cls, seconds: float) -> MonotonicDeadline:
        return cls(time.monotonic() + seconds)


class RemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


# What a run needs after its last claim: the insert of every claimed notification in one
# statement, the digest, the response (docs/performance.md has the insert's figure).
RESERVE_SECONDS = 5.0
# What a run needs after its last database wait: releasing what it could not store, the log
# line, the metrics and the response.
ANSWER_SECONDS = 1.0


def for_invocation(context: RemainingTime, reserve_seconds: float = RESERVE_SECONDS) -> Deadline:
    """The invocation's remaining time, less the reserve (at least nothing: expired); its end
    is the remaining time less the time to answer."""
    now = time.monotonic()
    remaining = context.get_remaining_time_in_millis() / 1000
    return MonotonicDeadline(
        now + max(0.0, remaining - reserve_seconds), end=now + max(0.0, remaining - ANSWER_SECONDS)
    )
