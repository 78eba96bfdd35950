"""The Polymarket adapter's harness for the adapter conformance suite (`conformance.py`):
`PolymarketVenue` against `PolymarketEmulator` on a free port, one market (`PM_CONDITION`,
its outcome tokens `PM_YES` and `PM_NO`) and a throwaway wallet, credentials through
environment variables (`PM_ENV`). Another participant's trade is the emulator's
`fill_resting`; faults are the emulator's, armed on the route each operation calls. The
CLOB has no market orders, stops or native replace, and its orders carry no client order
ID (`Capabilities`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ordergate.clock import WallClock
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.testing.conformance_harness import (
    Capabilities,
    FaultKind,
    Operation,
    SetEnv,
    VenueHarness,
    _request,
    _stop_maker,
)
from ordergate.venues.base import OrderReport, OrderRequest

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
