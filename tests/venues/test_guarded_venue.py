"""Spec: `GuardedVenue` puts any adapter behind a token bucket and a circuit breaker. An
outage opens the circuit after N failed calls, further calls are refused at once with a
reason naming the venue, one trial call after the recovery timeout closes it again, and
everything the venue says is passed through unchanged. Simulated clock: no real sleeping."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ordergate.clock import SimulatedClock
from ordergate.domain.order import OrderStatus
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.venues.base import (
    Balance,
    OrderNotFound,
    OrderRejected,
    OrderReport,
    OrderRequest,
    RateLimited,
    Ticker,
    VenueAdapter,
    VenueHealth,
    VenueTimeout,
    VenueUnavailable,
)
from ordergate.venues.circuit_breaker import BreakerSettings, BreakerState, CircuitOpen
from ordergate.venues.faults import Fault
from ordergate.venues.guarded import GuardedVenue, guard_venue, unwrap
from ordergate.venues.market_data import MarketData, Quote
from ordergate.venues.rate_limiter import RateLimitSettings, Throttled
from ordergate.venues.simulated import InstrumentSpec, SimulatedVenue, SimulatedVenueSettings

D = Decimal
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SYMBOL = "BTC/USDT"
BTC = InstrumentSpec(symbol=SYMBOL, tick_size=D("0.01"), lot_size=D("0.001"),
                     min_notional=D("10"))
CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
UNLIMITED = RateLimitSettings(rate_per_s=None)


def request(n=1, quantity="0.5", side=Side.BUY):
    return OrderRequest(f"cid-{n}", "main", SYMBOL, side, OrderType.MARKET, D(quantity), None,
                        TimeInForce.GTC)


async def make(rate_limit=UNLIMITED, threshold=5, timeout=60.0):
    clock = SimulatedClock(T0)
    quotes = [Quote(T0, SYMBOL, D("100.00"), D("100.10"), D("50"), D("50"))]
    sim = SimulatedVenue(SimulatedVenueSettings(name="sim", instruments=[BTC]), clock,
                         MarketData(quotes))
    transitions = []
    breaker = BreakerSettings(failure_threshold=threshold, recovery_timeout_s=timeout)
    guarded = GuardedVenue.wrap(sim, clock, breaker=breaker, rate_limit=rate_limit,
                                on_transition=lambda *args: transitions.append(args))
    await guarded.load_instruments()
    return guarded, sim, clock, transitions


# ------------------------------------------------------------------ unhappy paths first


async def test_outage_opens_the_circuit_refuses_at_once_then_recovers():
    guarded, sim, clock, transitions = await make()
    sim.faults.down = True
    for n in range(5):
        assert guarded.breaker.state is CLOSED
        with pytest.raises(VenueUnavailable):
            await guarded.place_order(request(n))
    assert guarded.breaker.state is OPEN
    assert guarded.breaker.consecutive_failures == 5

    # Refused at once, without reaching the venue: even if it came back meanwhile.
    sim.faults.down = False
    clock.advance(30)
    with pytest.raises(CircuitOpen) as refused:
        await guarded.place_order(request(10))
    assert "circuit open for sim" in str(refused.value)
    assert "after 5 consecutive failures" in str(refused.value)
    assert "VenueUnavailable" in str(refused.value)
    assert "cid-10" not in sim.orders_per_client_id
    assert clock.now() == T0 + timedelta(seconds=30)      # nothing waited

    clock.advance(30)                                     # the recovery timeout has passed
    report = await guarded.place_order(request(11))
    assert report.status is OrderStatus.FILLED
    assert guarded.breaker.state is CLOSED and guarded.breaker.consecutive_failures == 0
    assert [(t[1], t[2]) for t in transitions] == [(CLOSED, OPEN), (OPEN, HALF_OPEN),
                                                   (HALF_OPEN, CLOSED)]
    assert [t[4] for t in transitions] == [T0, T0 + timedelta(seconds=60),
                                           T0 + timedelta(seconds=60)]


async def test_a_failed_trial_reopens_with_a_fresh_timeout():
    guarded, sim, clock, transitions = await make()
    sim.faults.down = True
    for n in range(5):
        with pytest.raises(VenueUnavailable):
            await guarded.place_order(request(n))
    clock.advance(60)
    with pytest.raises(VenueUnavailable):                 # the trial: still down
        await guarded.place_order(request(6))
    assert guarded.breaker.state is OPEN
    assert guarded.breaker.opened_at == T0 + timedelta(seconds=60)
    sim.faults.down = False
    clock.advance(59)
    with pytest.raises(CircuitOpen):
        await guarded.place_order(request(7))
    clock.advance(1)
    await guarded.place_order(request(8))
    assert guarded.breaker.state is CLOSED
    assert [t[2] for t in transitions] == [OPEN, HALF_OPEN, OPEN, HALF_OPEN, CLOSED]


async def test_only_one_trial_call_in_flight_while_half_open():
    """A second call while the trial is out is refused at once."""
    gate = asyncio.Event()

    class Slow(FakeVenue):
        async def fetch_ticker(self, symbol):
            await gate.wait()
            return await super().fetch_ticker(symbol)

    clock = SimulatedClock(T0)
    guarded = GuardedVenue.wrap(Slow(), clock, breaker=BreakerSettings(failure_threshold=1),
                                rate_limit=UNLIMITED)
    guarded.breaker.record_failure("VenueUnavailable: down")
    clock.advance(60)
    trial = asyncio.create_task(guarded.fetch_ticker(SYMBOL))
    await asyncio.sleep(0)
    assert guarded.breaker.state is HALF_OPEN
    with pytest.raises(CircuitOpen, match="trial call is in flight"):
        await guarded.place_order(request())
    gate.set()
    await trial
    assert guarded.breaker.state is CLOSED


async def test_a_cancelled_trial_hands_its_permit_back():
    gate = asyncio.Event()

    class Hanging(FakeVenue):
        async def fetch_order(self, symbol, client_order_id, venue_order_id=None):
            await gate.wait()
            raise AssertionError("never answered")

    clock = SimulatedClock(T0)
    guarded = GuardedVenue.wrap(Hanging(), clock, breaker=BreakerSettings(failure_threshold=1),
                                rate_limit=UNLIMITED)
    guarded.breaker.record_failure("VenueTimeout")
    clock.advance(60)
    task = asyncio.create_task(guarded.fetch_order(SYMBOL, "cid-1"))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert guarded.breaker.state is HALF_OPEN
    await guarded.place_order(request())                 # the next call is the trial
    assert guarded.breaker.state is CLOSED


async def test_fatal_answers_do_not_count_as_failures():
    guarded, sim, _, _ = await make(threshold=2)
    sim.faults.inject("place", Fault.REJECT, times=10)
    for n in range(10):
        with pytest.raises(OrderRejected):
            await guarded.place_order(request(n))
    for n in range(3):
        with pytest.raises(OrderNotFound):
            await guarded.fetch_order(SYMBOL, f"nope-{n}")
    assert guarded.breaker.state is CLOSED
    assert guarded.breaker.consecutive_failures == 0


async def test_an_answer_in_between_resets_the_count():
    guarded, sim, _, _ = await make(threshold=3)
    sim.faults.inject("place", Fault.UNAVAILABLE, times=2)
    for n in range(2):
        with pytest.raises(VenueUnavailable):
            await guarded.place_order(request(n))
    sim.faults.inject("place", Fault.REJECT)
    with pytest.raises(OrderRejected):
        await guarded.place_order(request(3))
    sim.faults.inject("place", Fault.UNAVAILABLE, times=2)
    for n in range(4, 6):
        with pytest.raises(VenueUnavailable):
            await guarded.place_order(request(n))
    assert guarded.breaker.state is CLOSED and guarded.breaker.consecutive_failures == 2


async def test_timeouts_and_rate_limits_count_as_failures():
    guarded, sim, _, _ = await make(threshold=3)
    sim.faults.inject("place", Fault.TIMEOUT_BEFORE_ACCEPT)
    sim.faults.inject("place", Fault.RATE_LIMITED)
    sim.faults.inject("fetch_order", Fault.TIMEOUT_BEFORE_ACCEPT)
    with pytest.raises(VenueTimeout):
        await guarded.place_order(request(1))
    with pytest.raises(RateLimited):
        await guarded.place_order(request(2))
    with pytest.raises(VenueTimeout):
        await guarded.fetch_order(SYMBOL, "cid-1")
    assert guarded.breaker.state is OPEN


async def test_every_call_is_refused_while_open_and_lookups_are_never_not_found():
    guarded, sim, clock, _ = await make(threshold=1)
    sim.faults.down = True
    with pytest.raises(VenueUnavailable):
        await guarded.fetch_balances("main")
    sim.faults.down = False
    calls = [
        lambda: guarded.prepare_order(request()),
        lambda: guarded.place_order(request()),
        lambda: guarded.cancel_order(SYMBOL, "cid-1"),
        lambda: guarded.fetch_order(SYMBOL, "cid-1"),
        lambda: guarded.fetch_open_orders(),
        lambda: guarded.fetch_fills(SYMBOL, "cid-1"),
        lambda: guarded.fetch_balances("main"),
        lambda: guarded.fetch_ticker(SYMBOL),
        lambda: guarded.load_instruments(),
    ]
    for call in calls:
        with pytest.raises(CircuitOpen) as refused:
            await call()
        assert not isinstance(refused.value, OrderNotFound)
        assert not refused.value.retryable
    assert clock.now() == T0


async def test_a_read_can_be_the_trial_that_closes_the_circuit():
    guarded, sim, clock, _ = await make(threshold=1)
    sim.faults.down = True
    with pytest.raises(VenueUnavailable):
        await guarded.place_order(request())
    sim.faults.down = False
    clock.advance(60)
    balances = await guarded.fetch_balances("main")
    assert balances["USDT"].free == D("100000")
    assert guarded.breaker.state is CLOSED


async def test_rate_limited_penalizes_the_bucket_with_retry_after():
    guarded, sim, clock, _ = await make(rate_limit=RateLimitSettings(rate_per_s=10, burst=10))
    sim.faults.inject("place", Fault.RATE_LIMITED)           # the simulated 429 says 1 s
    with pytest.raises(RateLimited):
        await guarded.place_order(request(1))
    assert guarded.limiter.blocked_until == T0 + timedelta(seconds=1)
    assert guarded.limiter.rate_per_s == 5.0
    assert guarded.breaker.consecutive_failures == 1
    await guarded.place_order(request(2))
    assert clock.now() >= T0 + timedelta(seconds=1)
    assert guarded.breaker.consecutive_failures == 0


async def test_calls_are_paced_by_the_bucket():
    guarded, _, clock, _ = await make(rate_limit=RateLimitSettings(rate_per_s=10, burst=5))
    granted_before = guarded.limiter.granted
    for _ in range(25):
        await guarded.fetch_ticker(SYMBOL)
    assert guarded.limiter.granted - granted_before == 25
    # 5 from the bucket (minus the token load_instruments took), then 10 a second
    assert clock.now() >= T0 + timedelta(seconds=2.0)


async def test_a_refused_call_spends_no_token():
    guarded, sim, _, _ = await make(rate_limit=RateLimitSettings(rate_per_s=1, burst=1),
                                    threshold=1)
    sim.faults.down = True
    with pytest.raises(VenueUnavailable):
        await guarded.place_order(request())
    granted = guarded.limiter.granted
    for n in range(50):
        with pytest.raises(CircuitOpen):
            await guarded.place_order(request(n))
    assert guarded.limiter.granted == granted


async def test_preparing_an_order_neither_closes_a_half_open_circuit_nor_spends_a_token():
    guarded, sim, clock, _ = await make(rate_limit=RateLimitSettings(rate_per_s=1, burst=1),
                                        threshold=1)
    sim.faults.down = True
    with pytest.raises(VenueUnavailable):
        await guarded.place_order(request())
    clock.advance(60)                                     # a trial may go through now
    granted = guarded.limiter.granted
    assert await guarded.prepare_order(request(2)) is None  # a no-op: proves nothing
    assert guarded.breaker.state is OPEN and guarded.limiter.granted == granted
    sim.faults.down = False
    await guarded.place_order(request(2))                 # the send is the trial
    assert guarded.breaker.state is CLOSED


async def test_transport_failures_while_preparing_count_toward_opening_the_circuit():
    class Unreadable(FakeVenue):
        async def prepare_order(self, request):
            raise VenueTimeout("tick size: no answer")

    guarded = GuardedVenue.wrap(Unreadable(), SimulatedClock(T0),
                                breaker=BreakerSettings(failure_threshold=2), rate_limit=UNLIMITED)
    for n in range(2):
        with pytest.raises(VenueTimeout):
            await guarded.prepare_order(request(n))
    assert guarded.breaker.state is OPEN
    with pytest.raises(CircuitOpen):
        await guarded.prepare_order(request(3))


# ------------------------------------------------------------------ health


async def test_health_reflects_the_breaker():
    guarded, sim, clock, _ = await make(threshold=2)
    assert await guarded.health() == VenueHealth("sim", True, "")
    sim.faults.down = True
    for n in range(2):
        with pytest.raises(VenueUnavailable):
            await guarded.place_order(request(n))
    sim.faults.down = False                               # the venue says it is fine...
    health = await guarded.health()
    assert health.venue == "sim" and not health.ok        # ...but the circuit is open
    assert "circuit open" in health.detail and "2 consecutive failures" in health.detail
    clock.advance(60)
    await guarded.fetch_ticker(SYMBOL)
    assert (await guarded.health()).ok


# ------------------------------------------------------------------ pass-through


class FakeVenue:
    """Records calls and returns sentinels, to check delegation and identity."""

    name = "fake"

    def __init__(self):
        self.calls = []
        self.report = OrderReport("cid-1", "v-1", SYMBOL, OrderStatus.ACCEPTED, D(0), D(1),
                                  None, T0)
        self.prepared = "v-1"

    async def load_instruments(self):
        self.calls.append(("load_instruments",))
        return {}

    async def prepare_order(self, request):
        self.calls.append(("prepare_order", request))
        return self.prepared

    async def place_order(self, request):
        self.calls.append(("place_order", request))
        return self.report

    async def cancel_order(self, symbol, client_order_id, venue_order_id=None):
        self.calls.append(("cancel_order", symbol, client_order_id, venue_order_id))
        return self.report

    async def fetch_order(self, symbol, client_order_id, venue_order_id=None):
        self.calls.append(("fetch_order", symbol, client_order_id, venue_order_id))
        return self.report

    async def fetch_open_orders(self, symbol=None):
        self.calls.append(("fetch_open_orders", symbol))
        return [self.report]

    async def fetch_fills(self, symbol, client_order_id, venue_order_id=None):
        self.calls.append(("fetch_fills", symbol, client_order_id, venue_order_id))
        return []

    async def fetch_balances(self, account_id):
        self.calls.append(("fetch_balances", account_id))
        return {"USDT": Balance("USDT", D(1), D(0))}

    async def fetch_ticker(self, symbol):
        self.calls.append(("fetch_ticker", symbol))
        return Ticker(symbol, D(1), D(2), T0)

    async def health(self):
        self.calls.append(("health",))
        return VenueHealth(self.name, True, "fine")

    async def close(self):
        self.calls.append(("close",))


async def test_every_method_is_delegated_with_its_arguments_and_results_unchanged():
    fake = FakeVenue()
    guarded = GuardedVenue.wrap(fake, SimulatedClock(T0), rate_limit=UNLIMITED)
    assert isinstance(guarded, VenueAdapter) and guarded.name == "fake" and guarded.inner is fake
    req = request()
    assert await guarded.prepare_order(req) == "v-1"
    assert await guarded.place_order(req) is fake.report
    assert await guarded.cancel_order(SYMBOL, "cid-1", "v-1") is fake.report
    assert await guarded.fetch_order(SYMBOL, "cid-1") is fake.report
    assert await guarded.fetch_open_orders(SYMBOL) == [fake.report]
    assert await guarded.fetch_fills(SYMBOL, "cid-1", "v-9") == []
    assert (await guarded.fetch_balances("main"))["USDT"].free == D(1)
    assert (await guarded.fetch_ticker(SYMBOL)).mid == D("1.5")
    assert await guarded.load_instruments() == {}
    assert await guarded.health() == VenueHealth("fake", True, "fine")
    await guarded.close()
    assert fake.calls == [
        ("prepare_order", req), ("place_order", req), ("cancel_order", SYMBOL, "cid-1", "v-1"),
        ("fetch_order", SYMBOL, "cid-1", None), ("fetch_open_orders", SYMBOL),
        ("fetch_fills", SYMBOL, "cid-1", "v-9"), ("fetch_balances", "main"),
        ("fetch_ticker", SYMBOL), ("load_instruments",), ("health",), ("close",),
    ]


async def test_reports_from_the_simulated_venue_pass_through_unchanged():
    guarded, sim, _, _ = await make()
    placed = await guarded.place_order(request(1, quantity="0.5"))
    assert placed == await sim.fetch_order(SYMBOL, "cid-1")
    assert await guarded.fetch_order(SYMBOL, "cid-1") == placed
    assert await guarded.fetch_fills(SYMBOL, "cid-1") == await sim.fetch_fills(SYMBOL, "cid-1")
    assert await guarded.fetch_balances("main") == await sim.fetch_balances("main")


async def test_a_bug_in_the_adapter_is_not_counted_against_the_venue():
    class Buggy(FakeVenue):
        async def fetch_ticker(self, symbol):
            raise KeyError("adapter bug")

    guarded = GuardedVenue.wrap(Buggy(), SimulatedClock(T0),
                                breaker=BreakerSettings(failure_threshold=1), rate_limit=UNLIMITED)
    with pytest.raises(KeyError):
        await guarded.fetch_ticker(SYMBOL)
    assert guarded.breaker.state is CLOSED and guarded.breaker.consecutive_failures == 0


# ------------------------------------------------------------------ long rate-limit bans


async def test_a_long_ban_is_refused_locally_without_reaching_the_venue_or_the_breaker():
    class BannedOnce(FakeVenue):
        async def place_order(self, request):
            if not self.calls:
                self.calls.append(("place_order", request))
                raise RateLimited("418 I'm a teapot: banned", retry_after=120)
            return await super().place_order(request)

    venue, clock = BannedOnce(), SimulatedClock(T0)
    guarded = GuardedVenue.wrap(venue, clock, rate_limit=RateLimitSettings(max_wait_s=5))
    with pytest.raises(RateLimited):
        await guarded.place_order(request(1))
    assert guarded.breaker.consecutive_failures == 1      # the venue's 418 counts
    for n in range(2, 12):
        with pytest.raises(Throttled) as refused:
            await guarded.place_order(request(n))
        assert refused.value.retry_after == pytest.approx(120)
    assert len(venue.calls) == 1                           # none of those was sent
    assert guarded.breaker.consecutive_failures == 1      # our own refusals are no failures
    assert clock.now() == T0                               # and nobody waited
    clock.advance(120)
    assert await guarded.place_order(request(12)) is venue.report
    assert guarded.breaker.consecutive_failures == 0


async def test_health_reports_a_rate_limit_ban():
    guarded, sim, clock, _ = await make(rate_limit=RateLimitSettings(rate_per_s=10, burst=10))
    sim.faults.inject("fetch_ticker", Fault.RATE_LIMITED)
    with pytest.raises(RateLimited):
        await guarded.fetch_ticker(SYMBOL)
    health = await guarded.health()
    assert not health.ok
    assert "rate limited by the venue until" in health.detail and "5/s" in health.detail
    clock.advance(1)
    assert (await guarded.health()).ok


# ------------------------------------------------------------------ wiring helpers


def test_guard_venue_wraps_real_venues_and_leaves_a_plain_simulated_one_alone():
    clock = SimulatedClock(T0)
    fake = FakeVenue()
    assert guard_venue(fake, clock, kind="simulated") is fake
    real = guard_venue(fake, clock, kind="ccxt")
    assert isinstance(real, GuardedVenue)
    assert real.limiter.configured_rate_per_s == 10.0
    assert real.breaker.settings == BreakerSettings()
    sim = guard_venue(fake, clock, kind="simulated",
                      breaker=BreakerSettings(failure_threshold=3))
    assert isinstance(sim, GuardedVenue) and sim.breaker.settings.failure_threshold == 3
    assert sim.limiter.configured_rate_per_s is None      # a simulated venue stays unlimited
    assert unwrap(real) is fake and unwrap(fake) is fake
    assert unwrap(GuardedVenue.wrap(real, clock)) is fake
