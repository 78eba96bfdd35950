"""Spec: the token bucket never lets more than `burst + rate * w` calls through in any
window of `w` seconds, honours a venue's Retry-After, halves its rate when told off and
recovers gradually. All on a simulated clock: nothing really sleeps."""

import asyncio
import itertools
from bisect import bisect_right
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ordergate.clock import SimulatedClock
from ordergate.venues.base import RateLimited
from ordergate.venues.rate_limiter import (
    RateLimitSettings,
    Throttled,
    TokenBucket,
    default_rate_limit,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def make(rate=10.0, burst=10, **kw):
    clock = SimulatedClock(T0)
    return TokenBucket(clock, RateLimitSettings(rate_per_s=rate, burst=burst, **kw)), clock


async def take(bucket, clock, n):
    times = []
    for _ in range(n):
        await bucket.acquire()
        times.append(clock.now())
    return times


def max_in_any_window(times, width=SECOND):
    """Most grants in any closed window [t, t + width]."""
    times = sorted(times)
    return max((bisect_right(times, t + width) - i for i, t in enumerate(times)), default=0)


# ------------------------------------------------------------------ unhappy paths first


async def test_burst_then_paced_at_the_rate():
    bucket, clock = make(rate=10, burst=3)
    times = await take(bucket, clock, 6)
    assert times[:3] == [T0, T0, T0]
    assert [round((t - T0).total_seconds(), 6) for t in times[3:]] == [0.1, 0.2, 0.3]


async def test_a_second_of_hammering_gets_rate_plus_burst_at_most():
    bucket, clock = make(rate=10, burst=10)
    times = await take(bucket, clock, 100)
    assert max_in_any_window(times) <= 20
    assert times[-1] - T0 >= timedelta(seconds=8.9)


async def test_penalize_honours_retry_after_and_halves_the_rate():
    bucket, clock = make(rate=10, burst=10)
    await take(bucket, clock, 10)                    # bucket empty at T0
    bucket.penalize(5.0)
    assert bucket.blocked_until == T0 + 5 * SECOND
    assert bucket.rate_per_s == 5.0
    times = await take(bucket, clock, 3)
    assert times[0] >= T0 + 5 * SECOND
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert gaps == [pytest.approx(0.2, abs=2e-6)] * 2   # half of 10/s


async def test_no_token_before_retry_after_even_with_a_full_bucket():
    bucket, clock = make(rate=10, burst=10)
    bucket.penalize(2.5)
    assert bucket.tokens == 0.0
    await bucket.acquire()
    assert clock.now() == T0 + timedelta(seconds=2.5)
    # and no burst right after the ban: at most one token was kept
    await bucket.acquire()
    assert clock.now() >= T0 + timedelta(seconds=2.7)


async def test_penalize_without_retry_after_uses_the_default_pause():
    bucket, clock = make(default_retry_after_s=1.5)
    bucket.penalize(None)
    await bucket.acquire()
    assert clock.now() == T0 + timedelta(seconds=1.5)


async def test_a_shorter_retry_after_does_not_shorten_a_longer_ban():
    bucket, clock = make()
    bucket.penalize(10)
    bucket.penalize(1)
    assert bucket.blocked_until == T0 + 10 * SECOND
    await bucket.acquire()
    assert clock.now() >= T0 + 10 * SECOND


def test_repeated_penalties_halve_down_to_the_floor():
    bucket, _ = make(rate=10, min_rate_fraction=0.125)
    rates = []
    for _ in range(6):
        bucket.penalize(0)
        rates.append(bucket.rate_per_s)
    assert rates == [5.0, 2.5, 1.25, 1.25, 1.25, 1.25]


def test_rate_recovers_gradually_after_quiet_periods():
    bucket, clock = make(rate=10, recovery_quiet_s=30)
    bucket.penalize(2)
    bucket.penalize(2)
    assert bucket.rate_per_s == 2.5
    clock.advance(2 + 29)                            # quiet period counts from the ban's end
    assert bucket.rate_per_s == 2.5
    clock.advance(1)
    assert bucket.rate_per_s == 5.0
    clock.advance(30)
    assert bucket.rate_per_s == 10.0
    clock.advance(300)
    assert bucket.rate_per_s == 10.0                 # never above the configured rate


def test_a_new_penalty_restarts_the_quiet_period():
    bucket, clock = make(rate=10, recovery_quiet_s=30)
    bucket.penalize(0)
    clock.advance(29)
    bucket.penalize(0)
    clock.advance(29)
    assert bucket.rate_per_s == 2.5
    clock.advance(1)
    assert bucket.rate_per_s == 5.0


async def test_disabled_rate_is_unlimited_but_still_honours_retry_after():
    bucket, clock = make(rate=None)
    await take(bucket, clock, 1000)
    assert clock.now() == T0
    bucket.penalize(2)
    assert bucket.rate_per_s is None
    await bucket.acquire()
    assert clock.now() == T0 + 2 * SECOND


def test_try_acquire_does_not_wait():
    bucket, clock = make(rate=1, burst=2)
    assert bucket.try_acquire() and bucket.try_acquire()
    assert not bucket.try_acquire()
    clock.advance(1)
    assert bucket.try_acquire()
    assert bucket.granted == 3


async def test_concurrent_waiters_never_overdraw_the_bucket():
    class YieldingClock(SimulatedClock):
        async def sleep(self, seconds):
            self.advance(seconds)
            await asyncio.sleep(0)                   # let the other waiters run

    clock = YieldingClock(T0)
    bucket = TokenBucket(clock, RateLimitSettings(rate_per_s=5, burst=2))
    times = []

    async def one():
        await bucket.acquire()
        times.append(clock.now())

    await asyncio.gather(*(one() for _ in range(40)))
    assert len(times) == 40
    assert max_in_any_window(times) <= 5 + 2


@settings(max_examples=150, deadline=None)
@given(
    rate=st.floats(min_value=0.5, max_value=100, allow_nan=False),
    burst=st.integers(min_value=1, max_value=30),
    steps=st.lists(
        st.tuples(st.sampled_from([0.0, 0.0, 0.001, 0.05, 0.3, 1.0, 2.5]),
                  st.integers(min_value=1, max_value=15),
                  st.one_of(st.none(), st.none(), st.none(),
                            st.floats(min_value=0, max_value=3, allow_nan=False))),
        max_size=40),
)
def test_property_never_more_than_rate_plus_burst_in_any_second(rate, burst, steps):
    """For any sequence of pauses, acquire bursts and penalties, the number of grants in
    any one-second window is at most rate + burst, and none falls inside a ban."""

    async def scenario():
        # max_wait_s=None: this property is about pacing; refusing long waits is tested apart
        bucket, clock = make(rate=rate, burst=burst, max_wait_s=None)
        times, bans = [], []
        for pause, count, retry_after in steps:
            clock.advance(pause)
            if retry_after is not None:
                bucket.penalize(retry_after)
                bans.append((len(times), clock.now() + timedelta(seconds=retry_after)))
            times += await take(bucket, clock, count)
        return times, bans

    times, bans = asyncio.run(scenario())
    assert max_in_any_window(times) <= rate + burst
    for first_after, end in bans:                    # grants after the penalty
        assert all(t >= end for t in times[first_after:])


# ------------------------------------------------------------------ settings


@pytest.mark.parametrize("fields", [{"rate_per_s": 0}, {"rate_per_s": -1}, {"burst": 0},
                                    {"min_rate_fraction": 0}, {"min_rate_fraction": 1.5},
                                    {"recovery_quiet_s": 0}, {"max_wait_s": -1},
                                    {"surprise": 1}])
def test_settings_refuse_nonsense(fields):
    with pytest.raises(ValidationError):
        RateLimitSettings(**fields)


def test_settings_defaults_are_conservative_and_frozen():
    s = RateLimitSettings()
    assert (s.rate_per_s, s.burst) == (10.0, 10)
    with pytest.raises(ValidationError):
        s.burst = 100  # type: ignore[misc]
    assert default_rate_limit("simulated").rate_per_s is None
    assert default_rate_limit("ccxt").rate_per_s == 10.0
    assert default_rate_limit("polymarket").rate_per_s == 10.0


# ------------------------------------------------------------------ long bans, odd clocks


async def test_a_ban_longer_than_max_wait_is_refused_at_once_not_waited_out():
    bucket, clock = make(max_wait_s=10)
    bucket.penalize(120)                             # a Binance 418 ban
    with pytest.raises(Throttled) as refused:
        await bucket.acquire()
    assert clock.now() == T0                         # nothing waited
    assert refused.value.retryable and not refused.value.ambiguous
    assert refused.value.retry_after == pytest.approx(120)
    assert isinstance(refused.value, RateLimited)
    clock.advance(110)
    await bucket.acquire()                           # 10 s left: within max_wait, waited
    assert clock.now() == T0 + 120 * SECOND


async def test_max_wait_none_waits_out_any_ban():
    bucket, clock = make(max_wait_s=None)
    bucket.penalize(600)
    await bucket.acquire()
    assert clock.now() == T0 + 600 * SECOND


async def test_a_wait_of_exactly_max_wait_is_waited():
    bucket, clock = make(max_wait_s=10)
    bucket.penalize(10)
    await bucket.acquire()
    assert clock.now() == T0 + 10 * SECOND


class SteppingClock:
    """A wall clock that can be stepped back (an NTP correction)."""

    def __init__(self):
        self.now_ = T0

    def now(self):
        return self.now_

    async def sleep(self, seconds):
        self.now_ += timedelta(seconds=seconds)


async def test_a_clock_stepping_back_does_not_stretch_a_ban():
    clock = SteppingClock()
    bucket = TokenBucket(clock, RateLimitSettings(rate_per_s=10, burst=1, max_wait_s=None))
    bucket.penalize(5)
    clock.now_ -= timedelta(hours=1)                 # the wall clock jumps back an hour
    start = clock.now()
    await bucket.acquire()
    assert clock.now() - start == 5 * SECOND


async def test_a_clock_stepping_back_does_not_stall_the_refill():
    clock = SteppingClock()
    bucket = TokenBucket(clock, RateLimitSettings(rate_per_s=10, burst=1))
    await bucket.acquire()
    clock.now_ -= timedelta(hours=1)
    start = clock.now()
    await bucket.acquire()
    assert clock.now() - start <= timedelta(seconds=0.1)
