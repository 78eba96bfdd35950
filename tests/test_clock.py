"""Spec: injected time; the simulated clock moves only forward and only when told."""

import asyncio
import inspect
from datetime import UTC, datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from hypothesis import given, settings
from hypothesis import strategies as st

from ordergate.clock import Clock, SimulatedClock, WallClock

T0 = datetime(2026, 1, 2, tzinfo=UTC)


def test_simulated_clock_refuses_a_naive_start():
    with pytest.raises(ValueError, match="timezone-aware"):
        SimulatedClock(datetime(2026, 1, 2))


def test_simulated_clock_starts_where_told_in_any_timezone():
    start = datetime(2026, 1, 2, 9, tzinfo=timezone(timedelta(hours=9)))
    assert SimulatedClock(start).now() == start


def test_simulated_clock_does_not_move_by_itself():
    clock = SimulatedClock(T0)
    assert clock.now() == clock.now() == T0


def test_advance_to_an_earlier_time_is_ignored():
    clock = SimulatedClock(T0)
    clock.advance_to(T0 - timedelta(seconds=1))
    assert clock.now() == T0


def test_advance_to_moves_forward_exactly():
    clock = SimulatedClock(T0)
    clock.advance_to(T0 + timedelta(milliseconds=1500))
    assert clock.now() == T0 + timedelta(milliseconds=1500)


def test_advance_moves_by_seconds():
    clock = SimulatedClock(T0)
    clock.advance(2.5)
    assert clock.now() == T0 + timedelta(seconds=2.5)


async def test_sleep_advances_the_clock_without_waiting():
    clock = SimulatedClock(T0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await clock.sleep(3600)
    assert clock.now() == T0 + timedelta(hours=1)
    assert loop.time() - started < 1


async def test_negative_sleep_does_not_move_time_backwards():
    clock = SimulatedClock(T0)
    await clock.sleep(-1)
    assert clock.now() >= T0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(
    st.tuples(st.just("to"), st.integers(min_value=-10_000, max_value=10_000)),
    st.tuples(st.just("by"), st.integers(min_value=0, max_value=10_000)),
), max_size=30))
def test_simulated_clock_never_goes_backwards(moves):
    clock = SimulatedClock(T0)
    previous = clock.now()
    for kind, amount in moves:
        if kind == "to":
            clock.advance_to(previous + timedelta(milliseconds=amount))
        else:
            clock.advance(amount / 1000)
        assert clock.now() >= previous
        previous = clock.now()


def test_wall_clock_is_timezone_aware_utc_now():
    with freeze_time("2026-03-04 05:06:07"):
        now = WallClock().now()
    assert now == datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert now.tzinfo is not None


async def test_wall_clock_sleep_really_waits():
    loop = asyncio.get_running_loop()
    started = loop.time()
    await WallClock().sleep(0.01)
    assert loop.time() - started >= 0.009


@pytest.mark.parametrize("clock", [WallClock(), SimulatedClock(T0)])
def test_both_clocks_satisfy_the_clock_protocol(clock):
    checked: Clock = clock
    assert checked.now().tzinfo is not None
    assert inspect.iscoroutinefunction(type(clock).sleep)


# ---------------------------------------------------------------- isoformat, remembered


def test_the_same_instant_in_another_zone_is_written_in_that_zone():
    from ordergate.clock import isoformat

    at_utc = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    in_paris = at_utc.astimezone(timezone(timedelta(hours=1)))
    assert in_paris == at_utc  # equal instants: a cache keyed on equality alone would mix them
    assert isoformat(at_utc) == "2024-01-01T12:00:00+00:00"
    assert isoformat(in_paris) == "2024-01-01T13:00:00+01:00"
    assert isoformat(at_utc) == "2024-01-01T12:00:00+00:00"


def test_a_naive_time_after_an_aware_one_is_written_without_a_zone():
    from ordergate.clock import isoformat

    assert isoformat(datetime(2024, 1, 1, tzinfo=UTC)) == "2024-01-01T00:00:00+00:00"
    assert isoformat(datetime(2024, 1, 1)) == "2024-01-01T00:00:00"


@given(st.lists(st.datetimes(timezones=st.sampled_from([UTC, None])), min_size=1, max_size=20))
def test_isoformat_always_says_what_datetime_isoformat_says(times):
    from ordergate.clock import isoformat

    for ts in times + times[::-1]:
        assert isoformat(ts) == ts.isoformat()
