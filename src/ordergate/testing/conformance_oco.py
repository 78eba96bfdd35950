"""Venue harnesses for the OCO conformance cases (tests/venues/test_conformance_oco.py).

Each harness is a spot account holding exactly `QTY` of the base asset, with a real
adapter against its local venue (the simulated venue on spot rules; `CcxtVenue` with
ccxt's real binance class against `BinanceEmulator`), and offers:

- `oco(tag)`: a SELL OCO for all of it, take-profit above the market, stop below, with
  client order IDs derived from `tag` (`tag-list`, `tag-tp`, `tag-sl`);
- `separate(tag)`: the same two exits as single orders (a limit and a stop_market), which
  a spot account cannot hold both of: the second is refused for funds;
- `fill_take_profit(partially=...)`: another participant buys at the take-profit price;
- `trigger_stop()`: the market falls through the stop's trigger;
- `timeout_next_oco()`: the next list is taken by the venue and its answer lost.

Polymarket is not here: its CLOB has no order lists, and the suite asserts only that
its adapter says so (`oco_capable` is None).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ordergate.clock import SimulatedClock, WallClock
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.testing.conformance import BINANCE_KEY_ENV, BINANCE_SECRET_ENV, SetEnv
from ordergate.venues.base import OcoLeg, OcoRequest, OrderRequest, VenueAdapter
from ordergate.venues.faults import Fault
from ordergate.venues.market_data import MarketData, Quote
from ordergate.venues.simulated import InstrumentSpec, SimulatedVenue, SimulatedVenueSettings

D = Decimal
QTY = D("0.01")
PARTIAL = D("0.004")


@dataclass(slots=True)
class OcoHarness:
    name: str
    adapter: VenueAdapter
    symbol: str
    base: str
    take_profit_price: Decimal
    stop_price: Decimal
    _fill: Callable[[Decimal], Awaitable[None]]
    _trigger: Callable[[], Awaitable[None]]
    _timeout: Callable[[], None]
    _count: Callable[[str], int]

    def oco(self, tag: str, quantity: Decimal = QTY) -> OcoRequest:
        return OcoRequest(f"{tag}-list", "main", self.symbol, Side.SELL, quantity,
                          OcoLeg(f"{tag}-tp", self.take_profit_price),
                          OcoLeg(f"{tag}-sl", self.stop_price))

    def separate(self, tag: str) -> tuple[OrderRequest, OrderRequest]:
        take_profit = OrderRequest(f"{tag}-tp", "main", self.symbol, Side.SELL, OrderType.LIMIT,
                                   QTY, self.take_profit_price, TimeInForce.GTC)
        stop = OrderRequest(f"{tag}-sl", "main", self.symbol, Side.SELL, OrderType.STOP_MARKET,
                            QTY, None, TimeInForce.GTC, trigger_price=self.stop_price)
        return stop, take_profit

    async def fill_take_profit(self, *, partially: bool = False) -> None:
        await self._fill(PARTIAL if partially else QTY)

    async def trigger_stop(self) -> None:
        await self._trigger()

    def timeout_next_oco(self) -> None:
        self._timeout()

    def orders_at_venue(self, client_order_id: str) -> int:
        return self._count(client_order_id)


SIM_T0 = datetime(2026, 1, 2, tzinfo=UTC)
SIM_SYMBOL = "BTC/USDT"


@asynccontextmanager
async def simulated_oco_harness(*, native_oco: bool = True) -> AsyncIterator[OcoHarness]:
    clock = SimulatedClock(SIM_T0)

    def q(ts: datetime, bid: str, ask: str, size: str = "1") -> Quote:
        return Quote(ts, SIM_SYMBOL, D(bid), D(ask), D(size), D(size))

    venue = SimulatedVenue(SimulatedVenueSettings(
        name="sim", slippage_bps=D(0), allow_short=False, native_oco=native_oco,
        instruments=[InstrumentSpec(symbol=SIM_SYMBOL, tick_size=D("0.01"),
                                    lot_size=D("0.0001"), min_quantity=D("0.001"),
                                    min_notional=D("10"))],
        balances={"main": {"USDT": D("100000"), "BTC": QTY}}),
        clock, MarketData([q(SIM_T0, "42000.00", "42001.00")]))
    await venue.load_instruments()

    def then(*quotes: tuple[str, str, str]) -> None:
        now = clock.now()
        old = [x for s in venue.market.symbols for x in venue.market.series(s)]
        new = [q(now + timedelta(seconds=i + 1), *quote) for i, quote in enumerate(quotes)]
        venue.market = MarketData([*old, *new])
        clock.advance_to(new[-1].ts)
        venue.advance()

    async def fill(quantity: Decimal) -> None:  # a bid at the take-profit, sized, then back
        then(("43000.00", "43000.01", str(quantity)), ("42000.00", "42001.00", "1"))

    async def trigger() -> None:  # the bid falls through the stop (41000) and stays
        then(("40990.00", "40991.00", "1"))

    try:
        yield OcoHarness(
            "simulated", venue, SIM_SYMBOL, "BTC", D("43000.00"), D("41000.00"), fill, trigger,
            lambda: venue.faults.inject("place", Fault.TIMEOUT_AFTER_ACCEPT),
            lambda cid: venue.orders_per_client_id.get(cid, 0))
    finally:
        await venue.close()


@asynccontextmanager
async def ccxt_binance_oco_harness(setenv: SetEnv, *,
                                   timeout_s: float = 0.5) -> AsyncIterator[OcoHarness]:
    from ordergate.testing.binance_emulator import (
        DEFAULT_API_KEY,
        DEFAULT_API_SECRET,
        BinanceEmulator,
    )
    from ordergate.venues.ccxt_venue import CcxtVenue, CcxtVenueSettings

    setenv(BINANCE_KEY_ENV, DEFAULT_API_KEY)
    setenv(BINANCE_SECRET_ENV, DEFAULT_API_SECRET)
    emu = BinanceEmulator(balances={"USDT": D(1000000), "BTC": QTY})
    await emu.start()
    venue: CcxtVenue | None = None
    try:
        venue = CcxtVenue(CcxtVenueSettings(
            name="binance", exchange="binance", api_key_env=BINANCE_KEY_ENV,
            secret_env=BINANCE_SECRET_ENV, api_url=emu.base_url, timeout_s=timeout_s,
        ), WallClock())
        venue._exchange.enableRateLimit = False  # as in `conformance.ccxt_binance_harness`
        venue._exchange.timeout_on_exit = 0
        await venue.load_instruments()

        async def fill(quantity: Decimal) -> None:  # another participant buys at 51000
            emu.trade_against_resting("BTCUSDT", "51000.00", quantity)

        async def trigger() -> None:  # a print below the stop (49000): the last price falls
            emu.trade_against_resting("BTCUSDT", "48900.00", "1")

        def timeout() -> None:
            emu.delay_next("POST", "/api/v3/orderList/oco", timeout_s * 2, after_processing=True)

        # Before any trade the last price is the book's mid, 50000.00.
        yield OcoHarness(
            "ccxt-binance", venue, "BTC/USDT", "BTC", D("51000.00"), D("49000.00"), fill,
            trigger, timeout, lambda cid: emu.client_order_id_counts().get(cid, 0))
    finally:
        if venue is not None:
            await venue.close()
        emu.clear_faults()
        await emu.stop()


OCO_HARNESSES: dict[str, Callable[[SetEnv], AbstractAsyncContextManager[OcoHarness]]] = {
    "simulated": lambda setenv: simulated_oco_harness(),
    "ccxt-binance": ccxt_binance_oco_harness,
}
