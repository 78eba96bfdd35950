"""A token bucket per venue: never send faster than the venue allows, and slow down when
it says we did anyway.

`acquire()` takes one token, waiting on the injected clock's `sleep` until one is
available, so over any window of `w` seconds at most `burst + rate_per_s * w` calls are
let through. `penalize(retry_after)` is what a 429/418 (`RateLimited`) does: no token is
granted before `now + retry_after`, the bucket is emptied down to one token, and the
rate is halved (not below `min_rate_fraction` of the configured rate). After each
`recovery_quiet_s` without another penalty the rate doubles again, up to the configured
rate.

`acquire()` never waits longer than `max_wait_s` for one token: when the venue's ban has
longer to run it raises `Throttled` (a `RateLimited` with the remaining time as
`retry_after`) without contacting the venue, so one long Retry-After (a Binance 418 ban
lasts minutes) does not stall every caller, the engine's tick included. Calling during
the ban is never an option: Binance lengthens a ban that is ignored.

All time comes from the injected `Clock`; with a `SimulatedClock` nothing really sleeps.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from ordergate.clock import Clock
from ordergate.limits import MAX_DURATION_S
from ordergate.venues.base import RateLimited

_TOLERANCE = 1e-9   # float dust in the token count
_TICK = 1e-6        # the finest sleep: `timedelta` (and so `SimulatedClock`) has microseconds


class Throttled(RateLimited):
    """Refused here, without contacting the venue: its rate-limit ban has `retry_after`
    seconds left, more than `max_wait_s`. Retryable; nothing was sent, so not ambiguous."""


class RateLimitSettings(BaseModel):
    """How fast one venue may be called. Defaults per venue kind: `default_rate_limit`.

    - Binance spot: 1200 request weight per minute per IP (about 20 light requests a
      second), and 10 orders per second / 100,000 per day per account. The default,
      10 requests a second with a burst of 10, stays inside both however calls are mixed.
    - Polymarket CLOB: documented limits are far higher (thousands of order requests per
      10 s at the edge, plus per-signer token buckets); 10/s with a burst of 10 is a
      conservative start.
    - Simulated venue: `rate_per_s = None`, no limit (replays run at full speed)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    rate_per_s: float | None = Field(default=10.0, gt=0, le=1_000_000)
    """Sustained requests per second. None disables the rate; a venue's Retry-After is
    still honoured."""

    burst: int = Field(default=10, ge=1, le=1_000_000)
    """Requests that may go at once after a quiet spell (the bucket's capacity)."""

    min_rate_fraction: float = Field(default=0.125, gt=0, le=1)
    """Floor of the rate when penalties halve it, as a fraction of `rate_per_s`."""

    default_retry_after_s: float = Field(default=1.0, ge=0, le=MAX_DURATION_S)
    """Pause after a rate-limit answer that did not say how long to wait."""

    recovery_quiet_s: float = Field(default=30.0, gt=0, le=MAX_DURATION_S)
    """After a penalty, each this many seconds without another one doubles the rate back
    towards `rate_per_s`."""

    max_wait_s: float | None = Field(default=10.0, ge=0, le=MAX_DURATION_S)
    """Longest `acquire()` waits for a token; beyond it, `Throttled` at once. None: wait
    as long as needed."""


def default_rate_limit(kind: str) -> RateLimitSettings:
    """The default limit for a venue kind ("simulated", "ccxt", "polymarket")."""
    if kind == "simulated":
        return RateLimitSettings(rate_per_s=None)
    return RateLimitSettings()


class TokenBucket:
    """One venue's limiter. Made for one asyncio loop; waiters re-check after every sleep,
    so concurrent callers never overdraw the bucket."""

    def __init__(self, clock: Clock, settings: RateLimitSettings | None = None) -> None:
        self.settings = s = settings or RateLimitSettings()
        self._clock = clock
        self._origin = clock.now()   # times are seconds since here: small, precise floats
        self._configured = s.rate_per_s
        self._rate = s.rate_per_s
        self._floor = None if s.rate_per_s is None else s.rate_per_s * s.min_rate_fraction
        self._capacity = float(s.burst)
        self._tokens = float(s.burst)
        self._updated = 0.0          # when `_tokens` was last brought up to date
        self._blocked_until = 0.0    # no token before this (a venue's Retry-After)
        self._recovery_from = 0.0    # the rate steps back up each quiet period from here
        self._last_seen = 0.0        # to notice a wall clock stepping back
        self.granted = 0
        """Tokens handed out so far (for metrics)."""
        self.penalties = 0
        """Rate-limit answers taken so far (for metrics)."""

    # ------------------------------------------------------------------ what health shows

    @property
    def rate_per_s(self) -> float | None:
        """The rate in force now: the configured one, or less after penalties."""
        self._recover(self._seconds())
        return self._rate

    @property
    def configured_rate_per_s(self) -> float | None:
        return self._configured

    @property
    def blocked_until(self) -> datetime | None:
        """No token before this; None when nothing is blocked now."""
        if self._blocked_until <= self._seconds():
            return None
        return self._origin + timedelta(seconds=self._blocked_until)

    @property
    def tokens(self) -> float:
        """Tokens available now."""
        now = self._seconds()
        self._refill(now)
        return self._tokens if now >= self._blocked_until else 0.0

    # ------------------------------------------------------------------ taking tokens

    async def acquire(self) -> None:
        """Wait until a token is available and take it. Raises `Throttled` instead of
        waiting longer than `max_wait_s` for it."""
        limit = self.settings.max_wait_s
        while True:
            wait = self._try_take()
            if wait is None:
                self.granted += 1
                return
            if limit is not None and wait > limit + _TICK:
                raise Throttled(f"rate limited by the venue for another {wait:.3f}s "
                                f"(longer than max_wait_s={limit:g}); not sent",
                                retry_after=wait)
            await self._clock.sleep(wait)

    def try_acquire(self) -> bool:
        """Take a token if one is available now, without waiting."""
        if self._try_take() is None:
            self.granted += 1
            return True
        return False

    def _try_take(self) -> float | None:
        """Take a token (None), or say how long to wait before asking again."""
        now = self._seconds()
        if now < self._blocked_until:
            return _ceil_tick(self._blocked_until - now)
        self._refill(now)
        self._recover(now)
        if self._rate is None:
            return None
        if self._tokens >= 1.0 - _TOLERANCE:
            self._tokens = max(0.0, self._tokens - 1.0)
            return None
        return _ceil_tick((1.0 - self._tokens) / self._rate)

    # ------------------------------------------------------------------ being told off

    def penalize(self, retry_after: float | None = None) -> None:
        """The venue said we are too fast (429/418, Retry-After). No token before
        `now + retry_after` (the default pause when None), at most one token then, and
        half the rate until quiet periods bring it back."""
        now = self._seconds()
        self.penalties += 1
        pause = (self.settings.default_retry_after_s if retry_after is None
                 else max(0.0, retry_after))
        until = max(self._blocked_until, now + pause)
        self._refill(now)
        self._blocked_until = until
        self._recovery_from = until
        if self._rate is None:
            return
        assert self._floor is not None
        self._rate = max(self._floor, self._rate / 2)
        self._tokens = min(self._tokens, 1.0)
        self._updated = max(self._updated, until)   # nothing accrues during the ban

    # ------------------------------------------------------------------ internals

    def _seconds(self) -> float:
        now = (self._clock.now() - self._origin).total_seconds()
        if now < self._last_seen:
            # The (wall) clock stepped back: move our marks with it, so a ban or a refill
            # keeps its length instead of stretching by the step.
            step = self._last_seen - now
            self._updated -= step
            self._blocked_until -= step
            self._recovery_from -= step
        self._last_seen = now
        return now

    def _refill(self, now: float) -> None:
        if self._rate is not None and now > self._updated:
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
            self._updated = now

    def _recover(self, now: float) -> None:
        """Double the rate for each full quiet period since the last penalty (or step)."""
        rate, configured = self._rate, self._configured
        if rate is None or configured is None or rate >= configured:
            return
        steps = int((now - self._recovery_from) // self.settings.recovery_quiet_s)
        if steps <= 0:
            return
        self._refill(now)  # tokens so far accrued at the lower rate
        self._rate = min(configured, rate * 2.0 ** min(steps, 64))
        self._recovery_from += steps * self.settings.recovery_quiet_s


def _ceil_tick(seconds: float) -> float:
    """Round a wait up to whole microseconds, and at least one: a shorter sleep would not
    move a `SimulatedClock` at all."""
    return max(_TICK, math.ceil(seconds / _TICK - 1e-6) * _TICK)
