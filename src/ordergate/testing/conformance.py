"""Venue harnesses for the adapter conformance suite: one per adapter, same shape.

A `VenueHarness` wraps a real adapter running against its local venue (the simulated
venue on a simulated clock; `CcxtVenue` with ccxt's real binance class against
`BinanceEmulator`; `PolymarketVenue` against `PolymarketEmulator`) and offers what a
venue-agnostic specification needs:

- `resting(cid)`: an order that rests (a limit order far from the touch);
- `taking(cid)`: an order that takes liquidity and fills at once (a market order, or a
  marketable FOK limit order where the venue has no market orders);
- `rejected(cid)`: an order the venue refuses (below the minimum size);
- `too_big(cid, tif)`: a marketable IOC/FOK limit order larger than the liquidity at its price
  (with `post_only` and GTC: a post-only order that would take);
- `fill_resting(report, partially=...)`: another participant trades against a resting order;
- `stop(cid, order_type, crossed=...)`: a buy stop (stop_market or stop_limit) whose trigger
  is above the market, or (`crossed`) already reached by it;
- `cross_trigger()`: the market rises through that trigger (a trade, or a quote, there);
- `inject(kind, operation)`: make the next call of one operation fail in one way;
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

FaultKind = Literal["timeout_after_accept", "reject", "unavailable", "rate_limited", "timeout"]
"""`timeout_after_accept` and `reject` arm the next `place_order`; `unavailable` (a 5xx or
an outage), `rate_limited` (429 or the venue's throttle) and `timeout` (no answer in time)
arm the next call of any operation."""

Operation = Literal["place_order", "cancel_order", "fetch_order", "fetch_open_orders",
                    "fetch_fills", "fetch_balances", "fetch_ticker", "health", "replace_order"]

READS: tuple[Operation, ...] = ("fetch_order", "fetch_open_orders", "fetch_fills",
                                "fetch_balances", "fetch_ticker")

SetEnv = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class Capabilities:
    market_orders: bool = True
    """The venue takes market orders; without them, `taking` is a marketable FOK limit."""
    finds_unknown_orders_by_client_id: bool = True
    """Looking up a never-seen client order ID (no venue order ID) asks the venue and gets
    `OrderNotFound`. Polymarket orders carry no client order ID at the venue: its adapter
    can only resolve IDs it placed (or is told the venue ID of), and refuses the rest."""
    order_ids_before_send: bool = False
    """`prepare_order` knows the venue order ID before the send (Polymarket: the hash of
    the signed order); elsewhere it answers None and the venue assigns the ID."""
    post_only_orders: bool = True
    """The venue has post-only limit orders (refused rather than filled as taker). Without
    them the adapter refuses a post-only request with `PostOnlyUnsupported`, unsent. The
    simulated venue, Binance (LIMIT_MAKER) and Polymarket (`postOnly`) all have them."""
    stop_orders: bool = True
    """The venue has native stop orders (stop_market, stop_limit). Without them the
    adapter refuses a stop with `StopOrdersUnsupported`, unsent: Polymarket's CLOB."""
    native_replace: bool = True
    """The adapter is `Replaceable` (an atomic cancel-and-place: Binance spot's
    cancelReplace, the simulated venue's). Polymarket's CLOB has none."""


@dataclass(slots=True)
class VenueHarness:
    name: str
    adapter: VenueAdapter
    symbol: str
    account_id: str
    unknown_venue_order_id: str
    """Well-formed for this venue, never issued."""
    unknown_symbol: str
    _resting: Callable[[str], OrderRequest]
    _too_big: Callable[[str, TimeInForce], OrderRequest]
    _taking: Callable[[str], OrderRequest]
    _rejected: Callable[[str], OrderRequest]
    _fill: Callable[[OrderReport, bool], Awaitable[None]]
    _inject: Callable[[FaultKind, Operation], None]
    _count: Callable[[str], int]
    capabilities: Capabilities = field(default_factory=Capabilities)
    _stop: Callable[[str, OrderType, bool], OrderRequest] | None = None
    _cross_trigger: Callable[[], Awaitable[None]] | None = None

    def stop(self, cid: str, order_type: OrderType, *, crossed: bool = False) -> OrderRequest:
        """A buy stop whose trigger the market has not reached (or, `crossed`, has)."""
        assert self._stop is not None, f"{self.name} harness has no stop orders"
        return self._stop(cid, order_type, crossed)

    async def cross_trigger(self) -> None:
        """The market rises through the trigger of `stop(...)` and stays there."""
        assert self._cross_trigger is not None, f"{self.name} harness cannot move its market"
        await self._cross_trigger()

    def resting(self, cid: str) -> OrderRequest:
        return self._resting(cid)

    def taking(self, cid: str) -> OrderRequest:
        return self._taking(cid)

    def rejected(self, cid: str) -> OrderRequest:
        return self._rejected(cid)

    def too_big(self, cid: str, time_in_force: TimeInForce) -> OrderRequest:
        """A marketable limit order (IOC or FOK) for more than the liquidity at its price."""
        return self._too_big(cid, time_in_force)

    async def fill_resting(self, report: OrderReport, *, partially: bool = False) -> None:
        """Trade against a resting order: all of it, or a part that leaves some resting."""
        await self._fill(report, partially)

    def inject(self, kind: FaultKind, operation: Operation = "place_order") -> None:
        """Make the next call of `operation` fail with `kind`."""
        if kind in ("timeout_after_accept", "reject") and operation not in (
                "place_order", "replace_order"):
            raise ValueError(f"{kind} is a fault of a send, not of {operation}")
        self._inject(kind, operation)

    def orders_at_venue(self, client_order_id: str) -> int:
        return self._count(client_order_id)


def _request(cid: str, account: str, symbol: str, side: Side, order_type: OrderType,
             qty: str, price: str | None, tif: TimeInForce = TimeInForce.GTC,
             trigger: str | None = None) -> OrderRequest:
    return OrderRequest(cid, account, symbol, side, order_type, D(qty),
                        None if price is None else D(price), tif,
                        trigger_price=None if trigger is None else D(trigger))


def _stop_maker(account: str, symbol: str, qty: str, trigger: str, crossed_trigger: str,
                limit: str) -> Callable[[str, OrderType, bool], OrderRequest]:
    """Buy stops: at `trigger` (above the market) or `crossed_trigger` (reached by it); a
    stop_limit's limit at `limit`, above the trigger, so that it fills once triggered."""
    def stop(cid: str, order_type: OrderType, crossed: bool) -> OrderRequest:
        price = limit if order_type is OrderType.STOP_LIMIT else None
        return _request(cid, account, symbol, Side.BUY, order_type, qty, price,
                        trigger=crossed_trigger if crossed else trigger)
    return stop


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


# ---------------------------------------------------------------- ccxt + binance emulator


BINANCE_KEY_ENV, BINANCE_SECRET_ENV = "OG_CONFORMANCE_BINANCE_KEY", "OG_CONFORMANCE_BINANCE_SECRET"


@asynccontextmanager
async def ccxt_binance_harness(setenv: SetEnv, *, timeout_s: float = 0.5, slow_s: float = 1.0,
                               client_throttle: bool = False) -> AsyncIterator[VenueHarness]:
    from ordergate.testing.binance_emulator import (
        DEFAULT_API_KEY,
        DEFAULT_API_SECRET,
        BinanceEmulator,
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
        if not client_throttle:
            # ccxt's own pacing (a token bucket on Binance's request weights) and its 250 ms
            # grace on close protect a real venue; the emulator needs neither, and they
            # would make up most of the suite's time. Nothing else about ccxt changes.
            venue._exchange.enableRateLimit = False
            venue._exchange.timeout_on_exit = 0
        await venue.load_instruments()
        symbol, market_id, rest_price = "BTC/USDT", "BTCUSDT", "49000.00"

        def rest(cid: str) -> OrderRequest:
            return _request(cid, "main", symbol, Side.BUY, OrderType.LIMIT, "0.03", rest_price)

        def take(cid: str) -> OrderRequest:
            return _request(cid, "main", symbol, Side.BUY, OrderType.MARKET, "0.01", None)

        def too_big(cid: str, tif: TimeInForce) -> OrderRequest:  # 0.5 at 50001.00
            return _request(cid, "main", symbol, Side.BUY, OrderType.LIMIT, "1", "50001.00", tif)

        def reject(cid: str) -> OrderRequest:  # 0.49 USDT: below the NOTIONAL filter (5)
            return _request(cid, "main", symbol, Side.BUY, OrderType.LIMIT, "0.00001", rest_price)

        async def fill(report: OrderReport, partially: bool) -> None:
            qty = D("0.01") if partially else report.remaining_quantity
            emu.trade_against_resting(market_id, rest_price, qty)

        async def cross_trigger() -> None:  # a print at the trigger: the last price reaches it
            emu.trade_against_resting(market_id, "50500.00", "1")

        routes: dict[Operation, tuple[str, str]] = {
            "place_order": ("POST", "/api/v3/order"),
            "cancel_order": ("DELETE", "/api/v3/order"),
            "fetch_order": ("GET", "/api/v3/order"),
            "fetch_open_orders": ("GET", "/api/v3/openOrders"),
            "fetch_fills": ("GET", "/api/v3/myTrades"),
            "fetch_balances": ("GET", "/api/v3/account"),
            "fetch_ticker": ("GET", "/api/v3/ticker/24hr"),
            "health": ("GET", "/api/v3/time"),
            "replace_order": ("POST", "/api/v3/order/cancelReplace"),
        }

        def inject(kind: FaultKind, operation: Operation) -> None:
            method, path = routes[operation]
            if kind in ("timeout_after_accept", "timeout"):
                emu.delay_next(method, path, slow_s, after_processing=True)
            elif kind == "unavailable":
                emu.fail_next(method, path, 503)
            elif kind == "rate_limited":
                emu.fail_next(method, path, 429, retry_after=3)
            else:
                emu.fail_next(method, path, 400,
                              body='{"code":-1013,"msg":"Filter failure: PRICE_FILTER"}')

        yield VenueHarness(
            "ccxt-binance", venue, symbol, "main", "987654321", "NOPE/USDT",
            rest, too_big, take, reject, fill, inject,
            lambda cid: emu.client_order_id_counts().get(cid, 0),
            # Before any trade the last price is the book's mid, 50000.00.
            _stop=_stop_maker("main", symbol, "0.01", "50500.00", "50000.00", "50600.00"),
            _cross_trigger=cross_trigger)
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
                             slow_s: float = 1.0) -> AsyncIterator[VenueHarness]:
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

        def too_big(cid: str, tif: TimeInForce) -> OrderRequest:  # 100 at 0.55
            return _request(cid, "pm-1", PM_YES, Side.BUY, OrderType.LIMIT, "150", "0.55", tif)

        def reject(cid: str) -> OrderRequest:  # below the market's minimum size (5)
            return _request(cid, "pm-1", PM_YES, Side.BUY, OrderType.LIMIT, "4", "0.40")

        async def fill(report: OrderReport, partially: bool) -> None:
            assert report.venue_order_id is not None
            emu.fill_resting(report.venue_order_id, "4" if partially else None)

        routes: dict[Operation, tuple[str, str]] = {
            "place_order": ("POST", "/order"),
            "cancel_order": ("DELETE", "/order"),
            "fetch_order": ("GET", "/data/order/*"),
            "fetch_open_orders": ("GET", "/data/orders"),
            "fetch_fills": ("GET", "/data/trades"),
            "fetch_balances": ("GET", "/balance-allowance"),
            "fetch_ticker": ("GET", "/book"),
            "health": ("GET", "/time"),
        }

        def inject(kind: FaultKind, operation: Operation) -> None:
            method, path = routes[operation]
            if kind in ("timeout_after_accept", "timeout"):
                emu.inject_fault("delay_response", method, path, delay_s=slow_s)
            elif kind == "unavailable":
                emu.inject_fault("status", method, path, status=503)
            elif kind == "rate_limited":
                emu.inject_fault("status", method, path, status=429, retry_after=3)
            else:
                emu.inject(PmFault("status", method, path, status=400, body={
                    "error": "invalid order: order price breaks minimum tick size rules"}))

        def count(cid: str) -> int:
            # Polymarket orders carry no client order ID; every harness has a fresh venue,
            # so the account's orders are the ones this test placed.
            return len(emu.orders_of(account.api_key))

        yield VenueHarness(
            "polymarket", venue, PM_YES, "pm-1", "0x" + "00" * 32, "424242",
            rest, too_big, take, reject, fill, inject, count,
            Capabilities(market_orders=False, finds_unknown_orders_by_client_id=False,
                         order_ids_before_send=True, stop_orders=False, native_replace=False),
            _stop=_stop_maker("pm-1", PM_YES, "10", "0.60", "0.55", "0.65"))
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
