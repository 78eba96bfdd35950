"""The ccxt adapter's harness for the adapter conformance suite (`conformance.py`):
`CcxtVenue` with ccxt's real binance class against `BinanceEmulator` on a free port,
credentials through environment variables (`BINANCE_KEY_ENV`, `BINANCE_SECRET_ENV`).
Another participant's trade is the emulator's `trade_against_resting`; faults are the
emulator's, armed on the route each operation calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ordergate.clock import WallClock
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.testing.conformance_harness import (
    D,
    FaultKind,
    Operation,
    SetEnv,
    VenueHarness,
    _request,
    _stop_maker,
)
from ordergate.venues.base import OrderReport, OrderRequest

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
