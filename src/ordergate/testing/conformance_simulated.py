"""The simulated venue's harness for the adapter conformance suite (`conformance.py`):
`SimulatedVenue` on a simulated clock, one BTC/USDT instrument (`SIM_SPEC`) quoted at
`SIM_TOUCH`, an account holding USDT and BTC. Another participant's trade is a quote that
crosses the resting order, then the touch back, as time passes; faults are the simulated
venue's own (`ordergate.venues.faults`), its health its outage switch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from ordergate.clock import SimulatedClock
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.testing.conformance_harness import (
    D,
    FaultKind,
    Operation,
    VenueHarness,
    _request,
    _stop_maker,
)
from ordergate.venues.base import OrderReport, OrderRequest
from ordergate.venues.faults import Fault
from ordergate.venues.market_data import MarketData, Quote
from ordergate.venues.simulated import InstrumentSpec, SimulatedVenue, SimulatedVenueSettings

SIM_T0 = datetime(2026, 1, 2, tzinfo=UTC)
SIM_SYMBOL = "BTC/USDT"
SIM_SPEC = InstrumentSpec(symbol=SIM_SYMBOL, tick_size=D("0.01"), lot_size=D("0.0001"),
                          min_quantity=D("0.001"), min_notional=D("10"))
SIM_TOUCH = ("42000.00", "42001.00")
SIM_REST_PRICE = "41000.00"


@asynccontextmanager
async def simulated_harness() -> AsyncIterator[VenueHarness]:
    clock = SimulatedClock(SIM_T0)
    bid, ask = SIM_TOUCH

    def q(ts: datetime, b: str, a: str, bid_size: str = "0.05", ask_size: str = "0.05") -> Quote:
        return Quote(ts, SIM_SYMBOL, D(b), D(a), D(bid_size), D(ask_size))

    settings = SimulatedVenueSettings(
        name="sim", instruments=[SIM_SPEC], slippage_bps=D(0),
        balances={"main": {"USDT": D("100000"), "BTC": D("1")}})
    venue = SimulatedVenue(settings, clock, MarketData([q(SIM_T0, bid, ask)]))
    await venue.load_instruments()

    def rest(cid: str) -> OrderRequest:
        return _request(cid, "main", SIM_SYMBOL, Side.BUY, OrderType.LIMIT, "0.03", SIM_REST_PRICE)

    def take(cid: str) -> OrderRequest:
        return _request(cid, "main", SIM_SYMBOL, Side.BUY, OrderType.MARKET, "0.01", None)

    def too_big(cid: str, tif: TimeInForce) -> OrderRequest:  # 0.05 at the ask
        return _request(cid, "main", SIM_SYMBOL, Side.BUY, OrderType.LIMIT, "0.1", ask, tif)

    def reject(cid: str) -> OrderRequest:  # on the lot, below the minimum quantity
        return _request(cid, "main", SIM_SYMBOL, Side.BUY, OrderType.LIMIT, "0.0005", SIM_REST_PRICE)

    async def fill(report: OrderReport, partially: bool) -> None:
        # A quote arrives whose ask reaches the resting bid, sized to fill all or part of
        # it; then the touch goes back. The venue matches when time passes.
        qty = D("0.01") if partially else report.remaining_quantity
        now = clock.now()
        crossing = q(now + timedelta(seconds=1), "40999.00", SIM_REST_PRICE, ask_size=str(qty))
        back = q(now + timedelta(seconds=2), bid, ask)
        quotes = [x for s in venue.market.symbols for x in venue.market.series(s)]
        venue.market = MarketData([*quotes, crossing, back])
        clock.advance_to(back.ts)
        venue.advance()

    async def cross_trigger() -> None:
        # A quote whose ask is above the stop's trigger (42100), then it stays there.
        now = clock.now()
        quotes = [x for s in venue.market.symbols for x in venue.market.series(s)]
        venue.market = MarketData([*quotes, q(now + timedelta(seconds=1), "42109.00", "42110.00")])
        clock.advance_to(now + timedelta(seconds=1))
        venue.advance()

    sim_faults = {"timeout_after_accept": Fault.TIMEOUT_AFTER_ACCEPT, "reject": Fault.REJECT,
                  "unavailable": Fault.UNAVAILABLE, "rate_limited": Fault.RATE_LIMITED,
                  "timeout": Fault.TIMEOUT_BEFORE_ACCEPT}
    sim_ops = {"place_order": "place", "cancel_order": "cancel", "replace_order": "replace"}

    def inject(kind: FaultKind, operation: Operation) -> None:
        if operation == "health":  # the simulated venue's health reads its outage switch
            venue.faults.down = True
            return
        venue.faults.inject(sim_ops.get(operation, operation), sim_faults[kind])

    try:
        yield VenueHarness(
            "simulated", venue, SIM_SYMBOL, "main", "sim-999999", "NOPE/USDT",
            rest, too_big, take, reject, fill, inject,
            lambda cid: venue.orders_per_client_id.get(cid, 0),
            _stop=_stop_maker("main", SIM_SYMBOL, "0.01", "42100.00", ask, "42150.00"),
            _cross_trigger=cross_trigger)
    finally:
        await venue.close()
