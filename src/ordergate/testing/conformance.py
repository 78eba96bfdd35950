"""Venue harnesses for the adapter conformance suite: one per adapter, same shape.

A `VenueHarness` wraps a real adapter running against its local venue (the simulated
venue on a simulated clock; `CcxtVenue` with ccxt's real binance class against
`BinanceEmulator`; `PolymarketVenue` against `PolymarketEmulator`) and offers what a
venue-agnostic specification needs:

- `resting(cid)`: an order that rests (a limit order far from the touch);
- `taking(cid)`: an order that takes liquidity and fills at once (a market order, or a
  marketable FOK limit order where the venue has no market orders);
- `rejected(cid)`: an order the venue refuses (below the minimum size);
- `fill_resting(report, partially=...)`: another participant trades against a resting order;
- `inject(kind)`: arm one failure for the next call of the operation `FAULT_OPERATION` names;
- `orders_at_venue(cid)`: how many venue orders carry a client order ID (for "exactly one");
- `capabilities`: where adapters legitimately differ.

Each factory is an async context manager: emulators bind 127.0.0.1 on a free port and
stop, and the adapter closes, when it exits. Credentials go through environment variables
set with the caller's `setenv` (pytest's `monkeypatch.setenv`), never through settings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

from ordergate.clock import SimulatedClock, WallClock
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.venues.base import OrderReport, OrderRequest, VenueAdapter
from ordergate.venues.faults import Fault
from ordergate.venues.market_data import MarketData, Quote
from ordergate.venues.simulated import InstrumentSpec, SimulatedVenue, SimulatedVenueSettings

D = Decimal

FaultKind = Literal["timeout_after_accept", "unavailable", "rate_limited", "reject"]

FAULT_KINDS: tuple[FaultKind, ...] = ("timeout_after_accept", "unavailable", "rate_limited", "reject")

FAULT_OPERATION: dict[FaultKind, Literal["place_order", "fetch_open_orders"]] = {
    "timeout_after_accept": "place_order",  # the venue takes the order, the answer is lost
    "unavailable": "fetch_open_orders",     # a 5xx (or outage) on a read
    "rate_limited": "fetch_open_orders",    # 429 / the venue's throttle on a read
    "reject": "place_order",                # the venue refuses the order
}

SetEnv = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class Capabilities:
    market_orders: bool = True
    """The venue takes market orders; without them, `taking` is a marketable FOK limit."""
    finds_unknown_orders_by_client_id: bool = True
    """Looking up a never-seen client order ID (no venue order ID) asks the venue and gets
    `OrderNotFound`. Polymarket orders carry no client order ID at the venue: its adapter
    can only resolve IDs it placed (or is told the venue ID of), and refuses the rest."""


@dataclass(slots=True)
class VenueHarness:
    name: str
    adapter: VenueAdapter
    symbol: str
    account_id: str
    unknown_venue_order_id: str
    """Well-formed for this venue, never issued."""
    _resting: Callable[[str], OrderRequest]
    _taking: Callable[[str], OrderRequest]
    _rejected: Callable[[str], OrderRequest]
    _fill: Callable[[OrderReport, bool], Awaitable[None]]
    _inject: Callable[[FaultKind], None]
    _count: Callable[[str], int]
    capabilities: Capabilities = field(default_factory=Capabilities)

    def resting(self, cid: str) -> OrderRequest:
        return self._resting(cid)

    def taking(self, cid: str) -> OrderRequest:
        return self._taking(cid)

    def rejected(self, cid: str) -> OrderRequest:
        return self._rejected(cid)

    async def fill_resting(self, report: OrderReport, *, partially: bool = False) -> None:
        """Trade against a resting order: all of it, or a part that leaves some resting."""
        await self._fill(report, partially)

    def inject(self, kind: FaultKind) -> None:
        self._inject(kind)

    def orders_at_venue(self, client_order_id: str) -> int:
        return self._count(client_order_id)


def _request(cid: str, account: str, symbol: str, side: Side, order_type: OrderType,
             qty: str, price: str | None, tif: TimeInForce = TimeInForce.GTC) -> OrderRequest:
    return OrderRequest(cid, account, symbol, side, order_type, D(qty),
                        None if price is None else D(price), tif)


# ---------------------------------------------------------------- simulated


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

    def q(ts: datetime, b: str, a: str, bid_size: str = "5", ask_size: str = "5") -> Quote:
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

    def inject(kind: FaultKind) -> None:
        if kind == "timeout_after_accept":
            venue.faults.inject("place", Fault.TIMEOUT_AFTER_ACCEPT)
        elif kind == "unavailable":
            venue.faults.inject("fetch_open_orders", Fault.UNAVAILABLE)
        elif kind == "rate_limited":
            venue.faults.inject("fetch_open_orders", Fault.RATE_LIMITED)
        else:
            venue.faults.inject("place", Fault.REJECT)

    try:
        yield VenueHarness(
            "simulated", venue, SIM_SYMBOL, "main", "sim-999999",
            rest, take, reject, fill, inject,
            lambda cid: venue.orders_per_client_id.get(cid, 0))
    finally:
        await venue.close()


# ---------------------------------------------------------------- ccxt + binance emulator


BINANCE_KEY_ENV, BINANCE_SECRET_ENV = "OG_CONFORMANCE_BINANCE_KEY", "OG_CONFORMANCE_BINANCE_SECRET"


@asynccontextmanager
async def ccxt_binance_harness(setenv: SetEnv, *, timeout_s: float = 0.5,
                               place_delay_s: float = 1.5) -> AsyncIterator[VenueHarness]:
    from ordergate.testing.binance_emulator import (
        DEFAULT_API_KEY, DEFAULT_API_SECRET, BinanceEmulator,
    )
    from ordergate.venues.ccxt_venue import CcxtVenue, CcxtVenueSettings

    setenv(BINANCE_KEY_ENV, DEFAULT_API_KEY)
    setenv(BINANCE_SECRET_ENV, DEFAULT_API_SECRET)
    emu = BinanceEmulator()
    await emu.start()
    venue: CcxtVenue | None = None
    try:
        venue = CcxtVenue(CcxtVenueSettings(
            name="binance", exchange="binance", api_key_env=BINANCE_KEY_ENV,
            secret_env=BINANCE_SECRET_ENV, api_url=emu.base_url, timeout_s=timeout_s,
        ), WallClock())
        await venue.load_instruments()
        symbol, market_id, rest_price = "BTC/USDT", "BTCUSDT", "49000.00"

        def rest(cid: str) -> OrderRequest:
            return _request(cid, "main", symbol, Side.BUY, OrderType.LIMIT, "0.03", rest_price)

        def take(cid: str) -> OrderRequest:
            return _request(cid, "main", symbol, Side.BUY, OrderType.MARKET, "0.01", None)

        def reject(cid: str) -> OrderRequest:  # 0.49 USDT: below the NOTIONAL filter (5)
            return _request(cid, "main", symbol, Side.BUY, OrderType.LIMIT, "0.00001", rest_price)

        async def fill(report: OrderReport, partially: bool) -> None:
            qty = D("0.01") if partially else report.remaining_quantity
            emu.trade_against_resting(market_id, rest_price, qty)

        def inject(kind: FaultKind) -> None:
            if kind == "timeout_after_accept":
                emu.delay_next("POST", "/api/v3/order", place_delay_s, after_processing=True)
            elif kind == "unavailable":
                emu.fail_next("GET", "/api/v3/openOrders", 503)
            elif kind == "rate_limited":
                emu.fail_next("GET", "/api/v3/openOrders", 429, retry_after=3)
            else:
                emu.fail_next("POST", "/api/v3/order", 400,
                              body='{"code":-1013,"msg":"Filter failure: PRICE_FILTER"}')

        yield VenueHarness(
            "ccxt-binance", venue, symbol, "main", "987654321",
            rest, take, reject, fill, inject,
            lambda cid: emu.client_order_id_counts().get(cid, 0))
    finally:
        if venue is not None:
            await venue.close()
        emu.clear_faults()
        await emu.stop()


# ---------------------------------------------------------------- polymarket emulator


PM_CONDITION = "0x" + "cd" * 32
PM_YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
PM_NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
PM_ENV = {
    "private_key_env": "OG_CONFORMANCE_PM_KEY",
    "api_key_env": "OG_CONFORMANCE_PM_API_KEY",
    "api_secret_env": "OG_CONFORMANCE_PM_SECRET",
    "api_passphrase_env": "OG_CONFORMANCE_PM_PASSPHRASE",
    "funder_env": "OG_CONFORMANCE_PM_FUNDER",
}


@asynccontextmanager
async def polymarket_harness(setenv: SetEnv, *, timeout_s: float = 0.5,
                             place_delay_s: float = 1.0) -> AsyncIterator[VenueHarness]:
    from eth_account import Account

    from ordergate.testing.polymarket_emulator import Fault as PmFault
    from ordergate.testing.polymarket_emulator import PolymarketEmulator
    from ordergate.venues.polymarket import PolymarketVenue, PolymarketVenueSettings

    emu = PolymarketEmulator()
    emu.add_market(PM_CONDITION, [(PM_YES, "Yes"), (PM_NO, "No")], tick_size="0.01",
                   min_order_size="5")
    await emu.start()
    venue: PolymarketVenue | None = None
    try:
        wallet = Account.create()  # a throwaway key, never a real one
        account = emu.add_account(wallet.address, collateral="100", tokens={PM_YES: "50"})
        setenv(PM_ENV["private_key_env"], wallet.key.hex())
        setenv(PM_ENV["api_key_env"], account.api_key)
        setenv(PM_ENV["api_secret_env"], account.secret)
        setenv(PM_ENV["api_passphrase_env"], account.passphrase)
        setenv(PM_ENV["funder_env"], "")
        emu.set_book(PM_YES, bids=[("0.45", "100")], asks=[("0.55", "100")])
        venue = PolymarketVenue(PolymarketVenueSettings(
            name="polymarket", host=emu.base_url, timeout_s=timeout_s, account_id="pm-1",
            condition_ids=(PM_CONDITION,), tick_refresh_s=0, **PM_ENV,
        ), WallClock())
        await venue.load_instruments()

        def rest(cid: str) -> OrderRequest:
            return _request(cid, "pm-1", PM_YES, Side.BUY, OrderType.LIMIT, "10", "0.40")

        def take(cid: str) -> OrderRequest:  # no market orders: a marketable FOK limit
            return _request(cid, "pm-1", PM_YES, Side.BUY, OrderType.LIMIT, "10", "0.55",
                            TimeInForce.FOK)

        def reject(cid: str) -> OrderRequest:  # below the market's minimum size (5)
            return _request(cid, "pm-1", PM_YES, Side.BUY, OrderType.LIMIT, "4", "0.40")

        async def fill(report: OrderReport, partially: bool) -> None:
            assert report.venue_order_id is not None
            emu.fill_resting(report.venue_order_id, "4" if partially else None)

        def inject(kind: FaultKind) -> None:
            if kind == "timeout_after_accept":
                emu.inject_fault("delay_response", "POST", "/order", delay_s=place_delay_s)
            elif kind == "unavailable":
                emu.inject_fault("status", "GET", "/data/orders", status=503)
            elif kind == "rate_limited":
                emu.inject_fault("status", "GET", "/data/orders", status=429, retry_after=3)
            else:
                emu.inject(PmFault("status", "POST", "/order", status=400, body={
                    "error": "invalid order: order price breaks minimum tick size rules"}))

        def count(cid: str) -> int:
            # Polymarket orders carry no client order ID; every harness has a fresh venue,
            # so the account's orders are the ones this test placed.
            return len(emu.orders_of(account.api_key))

        yield VenueHarness(
            "polymarket", venue, PM_YES, "pm-1", "0x" + "00" * 32,
            rest, take, reject, fill, inject, count,
            Capabilities(market_orders=False, finds_unknown_orders_by_client_id=False))
    finally:
        if venue is not None:
            await venue.close()
        emu.clear_faults()
        await emu.stop()


HARNESSES: dict[str, Callable[[SetEnv], AbstractAsyncContextManager[VenueHarness]]] = {
    "simulated": lambda setenv: simulated_harness(),
    "ccxt-binance": ccxt_binance_harness,
    "polymarket": polymarket_harness,
}
"""Harness factories by id: `async with HARNESSES[name](monkeypatch.setenv) as venue: ...`"""
