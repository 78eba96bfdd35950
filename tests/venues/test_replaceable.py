"""Which adapters are `Replaceable`, and a native replace behind the guards: only Binance
spot among ccxt's exchanges (elsewhere ccxt's `edit_order` is a non-atomic cancel plus
create), the simulated venue unless `native_replace` is off, and through a
`GuardedVenue` metered and breaker-checked like a send."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ordergate.clock import SimulatedClock
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.testing.conformance import SIM_SPEC, SIM_T0
from ordergate.venues.base import OrderRequest, ReplaceUnsupported, VenueUnavailable, replaceable
from ordergate.venues.ccxt_venue import CcxtVenue, CcxtVenueSettings
from ordergate.venues.circuit_breaker import BreakerSettings, CircuitOpen
from ordergate.venues.faults import Fault
from ordergate.venues.guarded import GuardedVenue
from ordergate.venues.market_data import MarketData, Quote
from ordergate.venues.simulated import SimulatedVenue, SimulatedVenueSettings

D = Decimal


def _request(cid: str, price: str = "41000.00") -> OrderRequest:
    return OrderRequest(cid, "main", "BTC/USDT", Side.BUY, OrderType.LIMIT, D("0.01"), D(price),
                        TimeInForce.GTC)


async def _sim(native: bool = True) -> tuple[SimulatedVenue, SimulatedClock]:
    clock = SimulatedClock(SIM_T0)
    venue = SimulatedVenue(SimulatedVenueSettings(
        name="sim", instruments=[SIM_SPEC], native_replace=native,
        balances={"main": {"USDT": D("100000")}}), clock,
        MarketData([Quote(SIM_T0, "BTC/USDT", D("42000"), D("42001"), D(1), D(1))]))
    await venue.load_instruments()
    return venue, clock


@pytest.mark.parametrize(("exchange", "market_type", "native"), [
    ("binance", "spot", True), ("binance", "future", False), ("kraken", "spot", False),
    ("binanceus", "spot", False)])
async def test_only_binance_spot_is_replaceable_among_ccxt_exchanges(
    exchange: str, market_type: str, native: bool,
) -> None:
    venue = CcxtVenue(CcxtVenueSettings(name="x", exchange=exchange, market_type=market_type),
                      SimulatedClock(SIM_T0))
    try:
        assert (replaceable(venue) is not None) is native
        assert (replaceable(GuardedVenue.wrap(venue, SimulatedClock(SIM_T0))) is not None) is native
        if not native:
            with pytest.raises(ReplaceUnsupported):
                await venue.replace_order("old", None, _request("new"))
    finally:
        await venue.close()


async def test_the_simulated_venue_without_native_replace_is_not_replaceable() -> None:
    venue, _ = await _sim(native=False)
    assert replaceable(venue) is None
    assert replaceable(GuardedVenue.wrap(venue, SimulatedClock(SIM_T0))) is None


async def test_a_replace_through_the_guards_counts_toward_the_breaker_and_is_refused_when_open() -> None:
    venue, clock = await _sim()
    guarded = GuardedVenue.wrap(venue, clock, breaker=BreakerSettings(failure_threshold=1))
    found = replaceable(guarded)
    assert found is guarded, "the guard itself, so the replace is metered"
    await venue.place_order(_request("old"))
    venue.faults.inject("replace", Fault.UNAVAILABLE)
    with pytest.raises(VenueUnavailable):
        await guarded.replace_order("old", None, _request("new", "41001.00"))
    with pytest.raises(CircuitOpen):
        await guarded.replace_order("old", None, _request("new", "41001.00"))
    assert venue.orders_per_client_id.get("new", 0) == 0
