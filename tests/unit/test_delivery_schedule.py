"""When deliveries are tried: the retry schedule, Retry-After, quiet hours across DST nights."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.rules.alert_types import Priority
from inventory.rules.delivery_schedule import (
    RETRY_AFTER_CAP,
    next_attempt,
    parse_retry_after,
    quiet_until,
    retry_delay,
)
from inventory.rules.delivery_types import QuietWindow

T0 = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the retry schedule ---------------------------------------------------------------------


def test_retries_follow_the_schedule_then_give_up_after_24_hours() -> None:
    attempts, now = [], T0  # each attempt made the moment it was due, each failing
    for made in range(1, 20):
        due = next_attempt(T0, made, now)
        if due is None:
            break
        attempts.append(due - T0)
        now = due
    minutes = timedelta(minutes=1)
    assert attempts == [
        1 * minutes,
        6 * minutes,
        36 * minutes,
        156 * minutes,  # + 2 h
        516 * minutes,  # + 6 h
        876 * minutes,
        1236 * minutes,  # 20 h 36 min: the next, 26 h 36 min, is past the horizon
    ]


def test_the_delays_are_1_5_30_minutes_2_hours_then_6_hours() -> None:
    delays = [retry_delay(n) for n in range(1, 8)]

    assert delays == [timedelta(minutes=m) for m in (1, 5, 30, 120, 360, 360, 360)]


def test_an_attempt_exactly_at_the_horizon_is_still_made() -> None:
    assert next_attempt(T0, 5, T0 + timedelta(hours=18)) == T0 + timedelta(hours=24)
    assert next_attempt(T0, 5, T0 + timedelta(hours=18, seconds=1)) is None


def test_a_late_attempt_counts_its_delay_from_when_it_failed() -> None:
    failed_at = T0 + timedelta(minutes=47)  # the first attempt waited for quiet hours

    assert next_attempt(T0, 1, failed_at) == failed_at + timedelta(minutes=1)


def test_retry_after_postpones_beyond_the_schedule() -> None:
    assert next_attempt(T0, 1, T0, retry_after_seconds=600) == T0 + timedelta(minutes=10)


def test_retry_after_shorter_than_the_schedule_keeps_the_schedule() -> None:
    assert next_attempt(T0, 3, T0, retry_after_seconds=5) == T0 + timedelta(minutes=30)
    assert next_attempt(T0, 3, T0, retry_after_seconds=0) == T0 + timedelta(minutes=30)


def test_retry_after_past_the_horizon_gives_up() -> None:
    now = T0 + timedelta(hours=20)

    assert next_attempt(T0, 2, now, retry_after_seconds=4 * 3600) == T0 + timedelta(hours=24)
    assert next_attempt(T0, 2, now, retry_after_seconds=4 * 3600 + 1) is None
    assert next_attempt(T0, 2, now, retry_after_seconds=1e300) is None
    assert next_attempt(T0, 2, now, retry_after_seconds=float("inf")) is None
    assert next_attempt(T0, 2, now, retry_after_seconds=float("nan")) == now + timedelta(minutes=5)


def test_the_next_attempt_is_in_utc() -> None:
    paris = ZoneInfo("Europe/Paris")

    due = next_attempt(T0.astimezone(paris), 1, T0.astimezone(paris))

    assert due == T0 + timedelta(minutes=1)
    assert due is not None
    assert due.tzinfo is UTC


def test_no_delay_before_a_first_attempt_and_no_naive_clocks() -> None:
    with pytest.raises(ValueError, match="attempts_made"):
        next_attempt(T0, 0, T0)
    with pytest.raises(ValueError, match="aware"):
        next_attempt(T0.replace(tzinfo=None), 1, T0)


# --- Retry-After ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Sun, 08 Mar 2026 12:30:00 GMT", 1800.0),  # an HTTP-date
        ("Sunday, 08-Mar-26 12:00:10 GMT", 10.0),  # the obsolete RFC 850 form
        ("Sun, 08 Mar 2026 12:00:30 -0000", 30.0),
        ("Sun, 08 Mar 2026 11:00:00 GMT", 0.0),  # already past: may retry now
        ("99999999999999999999999", RETRY_AFTER_CAP.total_seconds()),
        ("259200", RETRY_AFTER_CAP.total_seconds()),  # 3 days
    ],
)
def test_retry_after_is_read_in_both_forms(header: str, seconds: float) -> None:
    assert parse_retry_after(header, T0) == seconds


@pytest.mark.parametrize("header", [None, "", "  ", "-5", "1.5", "soon", "٣", "Sun, 99 Foo"])
def test_an_unreadable_retry_after_is_none(header: str | None) -> None:
    assert parse_retry_after(header, T0) is None


# --- quiet hours ----------------------------------------------------------------------------


def window(start: str, end: str, zone: str, *, bypass_urgent: bool = False) -> QuietWindow:
    return QuietWindow(time.fromisoformat(start), time.fromisoformat(end), zone, bypass_urgent)


def test_a_window_inside_one_day() -> None:
    lunch = window("12:00", "13:30", "UTC")

    assert quiet_until(lunch, utc("2026-06-01T11:59"), Priority.HIGH) is None
    assert quiet_until(lunch, utc("2026-06-01T12:00"), Priority.HIGH) == utc("2026-06-01T13:30")
    assert quiet_until(lunch, utc("2026-06-01T13:29"), Priority.HIGH) == utc("2026-06-01T13:30")
    assert quiet_until(lunch, utc("2026-06-01T13:30"), Priority.HIGH) is None


def test_a_window_crossing_midnight() -> None:
    night = window("22:00", "07:00", "Europe/Berlin")  # CEST, UTC+2, in June

    assert quiet_until(night, utc("2026-06-01T19:59"), Priority.HIGH) is None
    assert quiet_until(night, utc("2026-06-01T20:00"), Priority.HIGH) == utc("2026-06-02T05:00")
    assert quiet_until(night, utc("2026-06-01T23:30"), Priority.HIGH) == utc("2026-06-02T05:00")
    assert quiet_until(night, utc("2026-06-02T04:59"), Priority.HIGH) == utc("2026-06-02T05:00")
    assert quiet_until(night, utc("2026-06-02T05:00"), Priority.HIGH) is None
    assert quiet_until(night, utc("2026-06-02T12:00"), Priority.HIGH) is None


def test_urgent_goes_through_only_where_the_window_lets_it() -> None:
    held = window("22:00", "07:00", "UTC")
    bypassed = window("22:00", "07:00", "UTC", bypass_urgent=True)
    now = utc("2026-06-01T23:00")

    assert quiet_until(held, now, Priority.URGENT) == utc("2026-06-02T07:00")
    assert quiet_until(bypassed, now, Priority.URGENT) is None
    assert quiet_until(bypassed, now, Priority.HIGH) == utc("2026-06-02T07:00")
    assert quiet_until(bypassed, now, Priority.LOW) == utc("2026-06-02T07:00")


def test_a_window_whose_start_is_its_end_is_empty() -> None:
    assert (
        quiet_until(window("08:00", "08:00", "UTC"), utc("2026-06-01T08:00"), Priority.LOW) is None
    )


def test_paris_spring_forward_night_ends_at_seven_summer_time() -> None:
    # 2026-03-29: 02:00 CET becomes 03:00 CEST; 22:00 CET is 21:00Z, 07:00 CEST is 05:00Z.
    night = window("22:00", "07:00", "Europe/Paris")

    assert quiet_until(night, utc("2026-03-28T20:59"), Priority.HIGH) is None
    assert quiet_until(night, utc("2026-03-28T21:00"), Priority.HIGH) == utc("2026-03-29T05:00")
    assert quiet_until(night, utc("2026-03-29T01:30"), Priority.HIGH) == utc("2026-03-29T05:00")
    assert quiet_until(night, utc("2026-03-29T05:00"), Priority.HIGH) is None


def test_paris_fall_back_night_ends_at_seven_winter_time() -> None:
    # 2026-10-25: 03:00 CEST becomes 02:00 CET; 22:00 CEST is 20:00Z, 07:00 CET is 06:00Z.
    night = window("22:00", "07:00", "Europe/Paris")

    assert quiet_until(night, utc("2026-10-24T20:00"), Priority.HIGH) == utc("2026-10-25T06:00")
    assert quiet_until(night, utc("2026-10-25T05:30"), Priority.HIGH) == utc("2026-10-25T06:00")
    assert quiet_until(night, utc("2026-10-25T06:00"), Priority.HIGH) is None


def test_a_window_ending_in_the_skipped_hour_ends_when_the_clock_jumps() -> None:
    # 02:30 does not exist in Paris on 2026-03-29: the clock goes 01:59:59 CET → 03:00 CEST,
    # at 01:00Z. Not 01:30Z (02:30 CET) nor 00:30Z (02:30 CEST, when the clock reads 01:30).
    night = window("23:00", "02:30", "Europe/Paris")

    assert quiet_until(night, utc("2026-03-29T00:30"), Priority.HIGH) == utc("2026-03-29T01:00")
    assert quiet_until(night, utc("2026-03-29T00:59:59"), Priority.HIGH) == utc("2026-03-29T01:00")
    assert quiet_until(night, utc("2026-03-29T01:00"), Priority.HIGH) is None  # 03:00 CEST


def test_new_york_window_ending_in_the_skipped_hour() -> None:
    # 2026-03-08: 02:00 EST becomes 03:00 EDT at 07:00Z.
    night = window("22:00", "02:30", "America/New_York")

    assert quiet_until(night, utc("2026-03-08T03:00"), Priority.HIGH) == utc("2026-03-08T07:00")
    assert quiet_until(night, utc("2026-03-08T06:59:59"), Priority.HIGH) == utc("2026-03-08T07:00")
    assert quiet_until(night, utc("2026-03-08T07:00"), Priority.HIGH) is None
    # The next night the window ends at 02:30 EDT again.
    assert quiet_until(night, utc("2026-03-09T03:00"), Priority.HIGH) == utc("2026-03-09T06:30")


def test_a_window_starting_in_the_skipped_hour_starts_when_the_clock_jumps() -> None:
    early = window("02:30", "06:00", "Europe/Paris")

    assert quiet_until(early, utc("2026-03-29T00:59"), Priority.HIGH) is None  # 01:59 CET
    assert quiet_until(early, utc("2026-03-29T01:00"), Priority.HIGH) == utc("2026-03-29T04:00")


def test_a_window_ending_in_the_repeated_hour_ends_at_its_first_occurrence() -> None:
    # 2026-11-01 in New York: 01:00 to 02:00 happens twice, EDT (05:00Z) then EST (06:00Z).
    night = window("22:00", "01:30", "America/New_York")

    assert quiet_until(night, utc("2026-11-01T05:00"), Priority.HIGH) == utc("2026-11-01T05:30")
    assert quiet_until(night, utc("2026-11-01T05:30"), Priority.HIGH) is None
    # The clock reads 01:10 again (EST): the window does not open a second time.
    assert quiet_until(night, utc("2026-11-01T06:10"), Priority.HIGH) is None


def test_a_window_starting_in_the_repeated_hour_starts_at_its_first_occurrence() -> None:
    # 2026-10-25 in Paris: 02:30 is 00:30Z (CEST) and again 01:30Z (CET).
    early = window("02:30", "05:00", "Europe/Paris")

    assert quiet_until(early, utc("2026-10-25T00:29"), Priority.HIGH) is None
    assert quiet_until(early, utc("2026-10-25T00:30"), Priority.HIGH) == utc("2026-10-25T04:00")
    assert quiet_until(early, utc("2026-10-25T01:10"), Priority.HIGH) == utc("2026-10-25T04:00")


# A brute-force oracle: away from the repeated hour, a message waits exactly when the local
# clock reads a time inside the window.
ZONES = ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
clocks = st.times().map(lambda t: t.replace(second=0, microsecond=0))
# Any instant of two years, or one near a DST change of these zones (where the rules are hard).
CHANGES = [utc(t) for t in ("2026-03-08T07:00", "2026-03-29T01:00", "2026-10-25T01:00")]
CHANGES += [utc(t) for t in ("2026-11-01T06:00", "2026-04-04T15:00", "2026-10-03T15:30")]
instants = st.one_of(
    st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31)).map(lambda d: d.replace(tzinfo=UTC)),
    st.builds(
        lambda change, minutes: change + timedelta(minutes=minutes),
        st.sampled_from(CHANGES),
        st.integers(-26 * 60, 26 * 60),
    ),
)


def test_windows_whose_gap_the_clocks_skip_join() -> None:
    # 02:01 to 02:00 in Paris: the minute between falls in the spring-forward jump of
    # 29 March 2026 (02:00 CET -> 03:00 CEST, 01:00 UTC), so one window ends as the next begins.
    quiet = QuietWindow(time(2, 1), time(2, 0), "Europe/Paris")

    assert quiet_until(quiet, utc("2026-03-29T00:30"), Priority.HIGH) == utc("2026-03-29T01:00")
    assert quiet_until(quiet, utc("2026-03-29T01:00"), Priority.HIGH) == utc("2026-03-30T00:00")
    assert quiet_until(quiet, utc("2026-03-30T00:00"), Priority.HIGH) is None


def _inside(clock: time, start: time, end: time) -> bool:
    return start <= clock < end if start < end else clock >= start or clock < end


@settings(max_examples=500, deadline=None)
@given(now=instants, start=clocks, end=clocks, zone=st.sampled_from(ZONES))
def test_quiet_hours_match_the_wall_clock(now: datetime, start: time, end: time, zone: str) -> None:
    quiet = QuietWindow(start, end, zone)
    local = now.astimezone(ZoneInfo(zone))
    ambiguous = local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()

    until = quiet_until(quiet, now, Priority.HIGH)

    if start != end and not ambiguous:
        assert (until is not None) == _inside(local.time(), start, end)
    if until is not None:
        assert now < until <= now + timedelta(hours=25)
        assert until.tzinfo is UTC
        again = quiet_until(quiet, until, Priority.HIGH)
        if again is not None:
            # A window's end is the next one's start only when the minutes between them do
            # not exist that day (both fall in a spring-forward jump): the windows join.
            before = (until - timedelta(seconds=1)).astimezone(ZoneInfo(zone)).utcoffset()
            assert before != until.astimezone(ZoneInfo(zone)).utcoffset(), (until, again)
            assert again > until
        assert quiet_until(quiet, now + (until - now) / 2, Priority.HIGH) == until
