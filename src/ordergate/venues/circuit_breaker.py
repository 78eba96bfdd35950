"""A per-venue circuit breaker: stop sending to a venue that keeps failing.

States:

- CLOSED: calls pass. Each *failure* (a retryable, transport-level error:
  `VenueUnavailable`, `VenueTimeout`, `RateLimited`) adds one to a count of consecutive
  failures; any *answer* from the venue (a success, or a refusal such as `OrderRejected`,
  `OrderNotFound`, `InsufficientFunds`: the venue is up and answering) resets it. At
  `failure_threshold` consecutive failures the circuit opens.
- OPEN: every call is refused at once with `CircuitOpen`, until `recovery_timeout_s`
  after it opened.
- HALF_OPEN: after the recovery timeout, exactly one trial call is let through (others
  are still refused). An answer closes the circuit; a failure reopens it with a fresh
  recovery timeout.

Everything is timed by the injected `Clock`. Transitions are reported through
`on_transition(venue, from_state, to_state, reason, ts)` so the engine can publish an
event, write an audit line and move a metric.

`CircuitOpen` is a `FatalVenueError` on purpose: the executor retries retryable errors,
and an order refused by an open circuit must be refused at once (REJECTED, with the
reason), not retried into the same wall or queued silently. It is never an
`OrderNotFound`, so a lookup refused by an open circuit is "unknown", never "absent".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from loguru import logger
from pydantic import BaseModel, ConfigDict, Field

from ordergate.clock import Clock
from ordergate.limits import MAX_DURATION_S
from ordergate.venues.base import FatalVenueError


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


TransitionCallback = Callable[[str, BreakerState, BreakerState, str, datetime], None]
"""`on_transition(venue, from_state, to_state, reason, ts)`."""


class BreakerSettings(BaseModel):
    """When a venue's circuit opens and when it is tried again."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    failure_threshold: int = Field(default=5, ge=1, le=1000)
    """Consecutive transport failures (unavailable, timeout, rate limited) that open the
    circuit. Any answer from the venue, including a refusal, resets the count."""

    recovery_timeout_s: float = Field(default=60.0, gt=0, le=MAX_DURATION_S)
    """Seconds the circuit stays open before one trial call is let through (HALF_OPEN)."""


class CircuitOpen(FatalVenueError):
    """Refused without contacting the venue: its circuit is open (or half-open with the
    one trial call already in flight). Not retryable by design: see the module doc."""

    def __init__(self, venue: str, state: BreakerState, opened_at: datetime | None,
                 retry_at: datetime | None, failures: int, last_failure: str = "") -> None:
        self.venue = venue
        self.state = state
        self.opened_at = opened_at
        self.retry_at = retry_at
        self.failures = failures
        self.last_failure = last_failure
        if state is BreakerState.HALF_OPEN:
            message = (f"circuit half-open for {venue}: a trial call is in flight; "
                       f"opened at {_iso(opened_at)} after {failures} consecutive failures")
        else:
            message = (f"circuit open for {venue} since {_iso(opened_at)} after {failures} "
                       f"consecutive failures; retry after {_iso(retry_at)}")
        if last_failure:
            message += f" (last failure: {last_failure})"
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Permit:
    """Leave to make one call, from `CircuitBreaker.acquire_permit()`. Hand it back with
    the call's outcome, so an outcome from before the circuit last opened is ignored."""

    epoch: int
    trial: bool


class CircuitBreaker:
    """One venue's breaker. Not thread-safe; made for one asyncio loop (no awaits inside,
    so every method is atomic with respect to other tasks)."""

    def __init__(self, venue: str, clock: Clock, settings: BreakerSettings | None = None,
                 on_transition: TransitionCallback | None = None) -> None:
        self.venue = venue
        self.settings = settings or BreakerSettings()
        self.on_transition = on_transition
        self._clock = clock
        self._timeout = timedelta(seconds=self.settings.recovery_timeout_s)
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at: datetime | None = None
        self._last_failure = ""
        self._last_success: datetime | None = None
        self._epoch = 0              # +1 each time the circuit opens
        self._trial_in_flight = False
        self._last_seen = clock.now()

    # ------------------------------------------------------------------ what health shows

    @property
    def state(self) -> BreakerState:
        """The recorded state. OPEN stays OPEN until a call asks for a permit after the
        recovery timeout; `retry_at` says when that becomes possible."""
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    @property
    def opened_at(self) -> datetime | None:
        """When the circuit last opened; None while CLOSED."""
        return self._opened_at

    @property
    def retry_at(self) -> datetime | None:
        """When a trial call will be let through; None while CLOSED."""
        return None if self._opened_at is None else self._opened_at + self._timeout

    @property
    def last_failure(self) -> str:
        return self._last_failure

    @property
    def last_success_at(self) -> datetime | None:
        """When the venue last answered a guarded call (the HTTP health check shows it)."""
        return self._last_success

    def describe(self) -> str:
        """One line for health and logs."""
        if self._state is BreakerState.CLOSED:
            return f"circuit closed ({self._failures} consecutive failures)"
        detail = (f"since {_iso(self._opened_at)} after {self._failures} consecutive failures"
                  + (f" (last failure: {self._last_failure})" if self._last_failure else ""))
        if self._state is BreakerState.HALF_OPEN:
            return f"circuit half-open, opened {detail}; trial call in flight"
        return f"circuit open {detail}; trial call allowed after {_iso(self.retry_at)}"

    # ------------------------------------------------------------------ before a call

    def check(self) -> None:
        """Raise `CircuitOpen` if a call now would be refused. Changes nothing."""
        if self._refuses(self._now()):
            raise self._refusal()

    def would_refuse(self) -> CircuitOpen | None:
        """The refusal a call now would get (its message is the reason to show), or None.
        Changes nothing: for a pre-trade check that wants a verdict, not an exception."""
        return self._refusal() if self._refuses(self._now()) else None

    def acquire_permit(self) -> Permit:
        """Leave to make a call now, or `CircuitOpen`. After the recovery timeout the first
        caller moves the circuit to HALF_OPEN and gets the one trial permit."""
        now = self._now()
        if self._refuses(now):
            raise self._refusal()
        if self._state is BreakerState.OPEN:
            self._transition(BreakerState.HALF_OPEN, now,
                             f"recovery timeout of {self.settings.recovery_timeout_s:g}s elapsed; "
                             "letting one trial call through")
        if self._state is BreakerState.HALF_OPEN:
            self._trial_in_flight = True
            return Permit(self._epoch, trial=True)
        return Permit(self._epoch, trial=False)

    def _refuses(self, now: datetime) -> bool:
        if self._state is BreakerState.OPEN:
            retry_at = self.retry_at
            return retry_at is not None and now < retry_at
        if self._state is BreakerState.HALF_OPEN:
            return self._trial_in_flight
        return False

    def _refusal(self) -> CircuitOpen:
        return CircuitOpen(self.venue, self._state, self._opened_at, self.retry_at,
                           self._failures, self._last_failure)

    # ------------------------------------------------------------------ after a call

    def record_success(self, permit: Permit | None = None) -> None:
        """The venue answered (a result, or a refusal such as `OrderRejected`). Without a
        permit the outcome is taken as current."""
        if self._stale(permit):
            return
        self._failures = 0
        self._last_failure = ""
        self._last_success = self._clock.now()
        if self._state is not BreakerState.CLOSED:
            self._trial_in_flight = False
            self._opened_at = None
            self._transition(BreakerState.CLOSED, self._now(), "trial call answered")

    def record_failure(self, reason: str = "", permit: Permit | None = None) -> None:
        """A transport failure: unavailable, timeout, rate limited."""
        if self._stale(permit):
            return
        now = self._now()
        self._failures += 1
        self._last_failure = reason
        because = f": {reason}" if reason else ""
        if self._state is BreakerState.HALF_OPEN:
            self._open(now, f"trial call failed{because}")
        elif (self._state is BreakerState.CLOSED
              and self._failures >= self.settings.failure_threshold):
            self._open(now, f"{self._failures} consecutive failures{because}")

    def release(self, permit: Permit) -> None:
        """The call ended without an outcome that says anything about the venue (cancelled,
        or a bug on our side): a trial permit goes back, so the next call can be the trial."""
        if permit.trial and not self._stale(permit) and self._state is BreakerState.HALF_OPEN:
            self._trial_in_flight = False

    def _now(self) -> datetime:
        now = self._clock.now()
        if now < self._last_seen and self._opened_at is not None:
            # The (wall) clock stepped back: keep the recovery timeout its length.
            self._opened_at -= self._last_seen - now
        self._last_seen = now
        return now

    def _stale(self, permit: Permit | None) -> bool:
        return permit is not None and permit.epoch != self._epoch

    def _open(self, now: datetime, reason: str) -> None:
        self._epoch += 1
        self._trial_in_flight = False
        self._opened_at = now
        self._transition(BreakerState.OPEN, now, reason)

    def _transition(self, to_state: BreakerState, now: datetime, reason: str) -> None:
        from_state, self._state = self._state, to_state
        logger.bind(venue=self.venue).warning(
            "circuit {} -> {} for {}: {}", from_state, to_state, self.venue, reason)
        if self.on_transition is not None:
            try:
                self.on_transition(self.venue, from_state, to_state, reason, now)
            except Exception:  # noqa: BLE001 - a broken listener must not break order flow
                logger.exception("on_transition callback failed for {}", self.venue)


def _iso(ts: datetime | None) -> str:
    return ts.isoformat() if ts is not None else "-"
