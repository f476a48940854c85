"""When a delivery is tried (SPEC §10): the retry schedule, a receiver's Retry-After, quiet
hours, and the most urgent priority of a set (a digest's quiet-hours decision).

Pure: the clock comes in as `now`; every instant is timezone-aware and comes out in UTC.

Quiet hours are read by the subscriber's wall clock, and each night's window is one span of
instants: from the first instant the local clock reads `start` to the first instant it reads
`end`. So on a DST night:
- a wall time that does not exist (spring forward: 02:30 in New York on 2026-03-08) is reached
  when the clock jumps past it: a window ending at 02:30 ends at the jump (03:00 EDT), not at
  03:30 (the time read with the old offset) nor at 01:30 EST (the new offset, still quiet);
- a wall time that exists twice (fall back: 01:30 in New York on 2026-11-01) counts at its
  first occurrence: a window ending at 01:30 ends at 01:30 EDT and does not open again when
  the clock turns back through it; a window starting at 01:30 starts at 01:30 EDT.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from inventory.rules.alert_types import Priority
from inventory.rules.delivery_types import MessageNotification, QuietWindow

# The wait after the 1st, 2nd, … failed attempt; every later one waits RETRY_EVERY.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
RETRY_EVERY = timedelta(hours=6)
# No attempt later than this after the delivery was created: then it is dead.
RETRY_HORIZON = timedelta(hours=24)
# A longer Retry-After gives up anyway (it is past the horizon); the cap only keeps a huge
# value from overflowing datetime arithmetic.
RETRY_AFTER_CAP = 2 * RETRY_HORIZON

_DELTA_SECONDS = re.compile(r"[0-9]+", re.ASCII)
_URGENCY = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


def _aware(moment: datetime, name: str) -> None:
    if moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def retry_delay(attempts_made: int) -> timedelta:
    """The wait after the `attempts_made`-th failed attempt (1 for the first)."""
    if attempts_made < 1:
        raise ValueError("a delay follows a failed attempt: attempts_made >= 1")
    if attempts_made <= len(RETRY_DELAYS):
        return RETRY_DELAYS[attempts_made - 1]
    return RETRY_EVERY


def next_attempt(
    created_at: datetime,
    attempts_made: int,
    now: datetime,
    retry_after_seconds: float | None = None,
) -> datetime | None:
    """When to try again after the `attempts_made`-th attempt failed at `now`: the schedule's
    delay, or later if the receiver's Retry-After says so; None (dead) when that would be
    more than RETRY_HORIZON after `created_at`."""
    _aware(created_at, "created_at")
    _aware(now, "now")
    due = now + retry_delay(attempts_made)
    if retry_after_seconds is not None and retry_after_seconds > 0:
        wait = min(retry_after_seconds, RETRY_AFTER_CAP.total_seconds())
        due = max(due, now + timedelta(seconds=wait))
    if due > created_at + RETRY_HORIZON:
        return None
    return due.astimezone(UTC)


def parse_retry_after(header_value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (RFC 9110: delta-seconds or an HTTP-date),
    at most RETRY_AFTER_CAP; a date already past is 0. None when absent or unreadable."""
    _aware(now, "now")
    value = (header_value or "").strip()
    if not value:
        return None
    cap = RETRY_AFTER_CAP.total_seconds()
    if _DELTA_SECONDS.fullmatch(value):
        # More digits than the cap has cannot be below it (and int() refuses ~4300 digits).
        return cap if len(value) > 12 else min(float(int(value)), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": an HTTP-date is always GMT
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), cap)


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def _first_instant(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the clock of `zone` reads `clock` on `day`, or, if the
    clock skips it, the instant it jumps past it."""
    wall = datetime.combine(day, clock)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)  # the first if it occurs twice
    if _wall(first, zone) == wall:
        return first
    # In a gap: read with the offset after the change it is before the jump, with the offset
    # before the change it is after; the jump lies between, at a whole second (tzdata's).
    below = math.floor(wall.replace(tzinfo=zone, fold=1).timestamp())
    above = math.ceil(first.timestamp())
    while above - below > 1:
        middle = (below + above) // 2
        if _wall(datetime.fromtimestamp(middle, UTC), zone) >= wall:
            above = middle
        else:
            below = middle
    return datetime.fromtimestamp(above, UTC)


def _window_on(day: date, window: QuietWindow, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The window that starts on local `day`: [start, end) in UTC."""
    end_day = day + timedelta(days=1) if window.end < window.start else day
    return _first_instant(day, window.start, zone), _first_instant(end_day, window.end, zone)


def quiet_until(window: QuietWindow, now: datetime, priority: Priority) -> datetime | None:
    """None when a message of `priority` may go at `now`; else the instant (UTC) the quiet
    window holding `now` ends. Urgent goes through only when the window lets it
    (`bypass_urgent`). A window whose start equals its end is empty (the API refuses one)."""
    _aware(now, "now")
    if window.start == window.end:
        return None
    if priority is Priority.URGENT and window.bypass_urgent:
        return None
    zone = ZoneInfo(window.time_zone)
    today = now.astimezone(zone).date()
    # Tonight's window, or last night's still running past midnight.
    for day in (today - timedelta(days=1), today):
        start, end = _window_on(day, window, zone)
        if start <= now < end:
            return end
    return None


def urgency(priority: Priority) -> int:
    """Low 0 … urgent 3: the higher, the sooner it matters."""
    return _URGENCY[priority]


def most_urgent(notifications: Iterable[MessageNotification]) -> Priority:
    """The highest priority among `notifications` (a digest's, for its quiet hours); low for
    none."""
    return max((n.priority for n in notifications), key=urgency, default=Priority.LOW)


def by_urgency(notifications: Iterable[MessageNotification]) -> list[MessageNotification]:
    """The most urgent first; in the order given within one priority."""
    return sorted(notifications, key=lambda n: -urgency(n.priority))
