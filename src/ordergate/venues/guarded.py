"""`GuardedVenue`: any `VenueAdapter` behind a rate limiter and a circuit breaker.

It is itself a `VenueAdapter` (same name, every method delegated, reports passed through
unchanged). Each venue call:

1. is refused at once with `CircuitOpen` (a `FatalVenueError`) if the venue's circuit is
   open, or half-open with its one trial call in flight: no token is spent on it;
2. waits for a token from the `TokenBucket` (or gets `Throttled`, a retryable
   `RateLimited`, at once when the venue's ban has longer to run than `max_wait_s`);
3. takes a permit from the breaker (after the recovery timeout the first call to get
   here is the half-open trial, whatever kind of call it is: a read is a fine probe);
4. is sent, and its outcome recorded: a result or a venue's refusal (any non-retryable
   `VenueError`: the venue is up and answering) is a success for the breaker; a
   retryable error (unavailable, timeout, rate limited) a failure; `RateLimited` also
   penalizes the bucket with its `retry_after`. Anything else (cancellation, a bug)
   records nothing and hands a trial permit back.

Every call is refused while OPEN, reads and cancels included: a venue that is down would
fail them anyway, after a full timeout each. This is safe for the engine because
`CircuitOpen` is a `VenueError` and never an `OrderNotFound`: the executor's lookups
after an ambiguous send come back "unknown" (the order is parked, never assumed absent),
the reconciler asks again at its next poll, and a cancel stays CANCEL_PENDING.

`prepare_order()` (reads only; a no-op on most adapters) is refused while the circuit
is open and its transport failures count toward opening it, but it spends no token and
is never recorded as a success: a no-op proves nothing about the venue and must not close
a half-open circuit (the send after it is the trial), and Polymarket's reads in it used to
run inside the one guarded send, metered once.

`health()` and `close()` bypass both guards. `health()` reports `ok=False` with the
breaker's state whenever the circuit is not CLOSED, without asking the venue, and
`ok=False` while a venue's rate-limit ban is in force.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ordergate.clock import Clock
from ordergate.domain.instrument import Instrument
from ordergate.venues.base import (
    Balance,
    OcoRequest,
    OcoUnsupported,
    OrderReport,
    OrderRequest,
    RateLimited,
    ReplaceReport,
    ReplaceUnsupported,
    Ticker,
    TradeReport,
    VenueAdapter,
    VenueError,
    VenueHealth,
    replaceable,
)
from ordergate.venues.circuit_breaker import (
    BreakerSettings,
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
    TransitionCallback,
)
from ordergate.venues.rate_limiter import (
    RateLimitSettings,
    Throttled,
    TokenBucket,
    default_rate_limit,
)
from ordergate.venues.base import oco_capable
from ordergate.venues.request_timing import RequestObserver, RequestOutcome, VenueMethod

T = TypeVar("T")


class GuardedVenue:
    def __init__(self, inner: VenueAdapter, breaker: CircuitBreaker, limiter: TokenBucket) -> None:
        self.inner = inner
        """The wrapped adapter (e.g. to reach a `SimulatedVenue`'s `advance()`/`faults`)."""
        self.name = inner.name
        self.breaker = breaker
        self.limiter = limiter
        self.observe: RequestObserver | None = None
        """Told of each request that passes the guards (the engine's metrics)."""

    @classmethod
    def wrap(cls, inner: VenueAdapter, clock: Clock, *,
             breaker: BreakerSettings | None = None,
             rate_limit: RateLimitSettings | None = None,
             on_transition: TransitionCallback | None = None) -> GuardedVenue:
        """Build the breaker and the bucket for `inner` on `clock`."""
        return cls(inner, CircuitBreaker(inner.name, clock, breaker, on_transition),
                   TokenBucket(clock, rate_limit))

    # ------------------------------------------------------------------ the guard

    async def _guarded(self, call: Callable[[], Awaitable[T]], method: VenueMethod) -> T:
        breaker = self.breaker
        breaker.check()                      # refused at once: no token spent
        await self.limiter.acquire()
        permit = breaker.acquire_permit()    # the state may have changed while we waited
        observe = self.observe
        began = time.perf_counter()
        if observe is not None:
            observe.request_leaving(self.name, method)
        outcome = RequestOutcome.ERROR
        try:
            result = await call()
            outcome = RequestOutcome.OK
        except (CircuitOpen, Throttled):     # a nested guard refused: says nothing new
            outcome = RequestOutcome.REFUSED
            breaker.release(permit)
            raise
        except RateLimited as exc:
            outcome = RequestOutcome.RATE_LIMITED
            self.limiter.penalize(exc.retry_after)
            breaker.record_failure(_describe(exc), permit)
            raise
        except VenueError as exc:
            if exc.retryable:
                outcome = RequestOutcome.RETRYABLE_ERROR
                breaker.record_failure(_describe(exc), permit)
            else:
                outcome = RequestOutcome.REFUSED_BY_VENUE
                breaker.record_success(permit)   # an answer: the venue is up
            raise
        except BaseException:
            breaker.release(permit)
            raise
        finally:
            if observe is not None:
                observe.request_answered(self.name, method, outcome, time.perf_counter() - began)
        breaker.record_success(permit)
        return result

    # ------------------------------------------------------------------ VenueAdapter

    async def load_instruments(self) -> dict[str, Instrument]:
        return await self._guarded(self.inner.load_instruments, VenueMethod.LOAD_INSTRUMENTS)

    async def prepare_order(self, request: OrderRequest) -> str | None:
        """Checked against the breaker, not metered (module docstring)."""
        self.breaker.check()
        try:
            return await self.inner.prepare_order(request)
        except (CircuitOpen, Throttled):     # a nested guard refused: says nothing new
            raise
        except VenueError as exc:
            if isinstance(exc, RateLimited):
                self.limiter.penalize(exc.retry_after)
            if exc.retryable:
                self.breaker.record_failure(_describe(exc))
            raise

    async def place_order(self, request: OrderRequest) -> OrderReport:
        return await self._guarded(lambda: self.inner.place_order(request), VenueMethod.PLACE_ORDER)

    def supports_oco(self) -> bool:
        """The inner adapter's native OCO, behind these guards (`venues.base.OcoCapable`)."""
        return oco_capable(self.inner) is not None

    async def place_oco(self, request: OcoRequest) -> list[OrderReport]:
        """Guarded and metered as one send (one request at the venue)."""
        inner = oco_capable(self.inner)
        if inner is None:
            raise OcoUnsupported(f"{self.name}: the venue has no native OCO; not sent")
        return await self._guarded(lambda: inner.place_oco(request), VenueMethod.PLACE_ORDER)

    async def cancel_order(self, symbol: str, client_order_id: str,
                           venue_order_id: str | None = None) -> OrderReport:
        return await self._guarded(
            lambda: self.inner.cancel_order(symbol, client_order_id, venue_order_id),
            VenueMethod.CANCEL_ORDER)

    async def fetch_order(self, symbol: str, client_order_id: str,
                          venue_order_id: str | None = None) -> OrderReport:
        return await self._guarded(
            lambda: self.inner.fetch_order(symbol, client_order_id, venue_order_id),
            VenueMethod.FETCH_ORDER)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        return await self._guarded(lambda: self.inner.fetch_open_orders(symbol),
                                   VenueMethod.FETCH_OPEN_ORDERS)

    async def fetch_fills(self, symbol: str, client_order_id: str,
                          venue_order_id: str | None = None) -> list[TradeReport]:
        return await self._guarded(
            lambda: self.inner.fetch_fills(symbol, client_order_id, venue_order_id),
            VenueMethod.FETCH_FILLS)

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        return await self._guarded(lambda: self.inner.fetch_balances(account_id),
                                   VenueMethod.FETCH_BALANCES)

    async def fetch_ticker(self, symbol: str) -> Ticker:
        return await self._guarded(lambda: self.inner.fetch_ticker(symbol),
                                   VenueMethod.FETCH_TICKER)

    def supports_replace(self) -> bool:
        """What it wraps can replace natively (`base.Replaceable`)."""
        return replaceable(self.inner) is not None

    async def replace_order(self, old_client_order_id: str, old_venue_order_id: str | None,
                            request: OrderRequest) -> ReplaceReport:
        """Guarded like a send: one token, breaker-checked, its outcome recorded."""
        inner = replaceable(self.inner)
        if inner is None:
            raise ReplaceUnsupported(f"{self.name}: the venue has no native replace")
        return await self._guarded(
            lambda: inner.replace_order(old_client_order_id, old_venue_order_id, request),
            VenueMethod.REPLACE_ORDER)

    async def health(self) -> VenueHealth:
        if self.breaker.state is not BreakerState.CLOSED:
            return VenueHealth(self.name, False, self.breaker.describe())
        inner = await self.inner.health()
        banned = self.limiter.blocked_until
        if banned is None:
            return inner
        rate = self.limiter.rate_per_s
        detail = f"rate limited by the venue until {banned.isoformat()}" + (
            f"; pacing at {rate:g}/s" if rate is not None else "")
        return VenueHealth(self.name, False, "; ".join(filter(None, [detail, inner.detail])))

    async def close(self) -> None:
        await self.inner.close()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def guard_venue(inner: VenueAdapter, clock: Clock, *, kind: str,
                breaker: BreakerSettings | None = None,
                rate_limit: RateLimitSettings | None = None,
                on_transition: TransitionCallback | None = None) -> VenueAdapter:
    """`inner` behind the guards its kind of venue should have by default.

    Real venues ("ccxt", "polymarket") always get a breaker (`breaker` or the defaults)
    and a bucket (`rate_limit` or `default_rate_limit(kind)`). A "simulated" venue is
    returned unwrapped unless `breaker` or `rate_limit` is given: a replay must not have
    its venue shut by, say, tickers asked for before the first recorded quote."""
    if kind == "simulated" and breaker is None and rate_limit is None:
        return inner
    return GuardedVenue.wrap(inner, clock, breaker=breaker,
                             rate_limit=rate_limit or default_rate_limit(kind),
                             on_transition=on_transition)


def unwrap(venue: VenueAdapter) -> VenueAdapter:
    """The adapter under any guards (for `isinstance(..., SimulatedVenue)` and the like)."""
    while isinstance(venue, GuardedVenue):
        venue = venue.inner
    return venue
