"""How long a run may keep starting work: the Lambda's remaining time, less a reserve.

The monitor claims cooldowns until its deadline and then stores what it claimed. Without one,
a run that outgrows its function timeout (a first run over a large catalogue, a throttled
table) would be killed between its claims and its insert, and the claimed alerts would stay
silent for a whole cooldown window. Work not started in time is deferred to the next run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


class Deadline(Protocol):
    def expired(self) -> bool:
        """True once no new work may start."""
        ...


@dataclass(frozen=True, slots=True)
class MonotonicDeadline:
    """Expires at a `time.monotonic()` instant."""

    at: float

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    @classmethod
    def after(cls, seconds: float) -> MonotonicDeadline:
        return cls(time.monotonic() + seconds)


class RemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


# What a run needs after its last claim: the insert of every claimed notification in one
# statement, the digest, the response (docs/performance.md has the insert's figure).
RESERVE_SECONDS = 5.0


def for_invocation(context: RemainingTime, reserve_seconds: float = RESERVE_SECONDS) -> Deadline:
    """The invocation's remaining time, less the reserve (at least nothing: expired)."""
    remaining = context.get_remaining_time_in_millis() / 1000
    return MonotonicDeadline.after(max(0.0, remaining - reserve_seconds))
