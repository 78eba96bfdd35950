"""The emulator's own admin endpoints (`/_admin/...`), for a test or the crash test that
drives an emulator in another process: its state, faults, books, trades against resting
orders, balances, accounts, the venue's clock, fees in BNB and filters; each the HTTP
face of a test-facing method of `BinanceEmulator`. Not Binance's API: unsigned, and
never under `/api/`."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from aiohttp import web

from ordergate.testing.binance_faults import Fault
from ordergate.testing.binance_market import DEFAULT_BALANCES, BinanceApiError
from ordergate.testing.binance_public import symbol_info

if TYPE_CHECKING:
    from ordergate.testing.binance_emulator import BinanceEmulator


def add_routes(emulator: BinanceEmulator, router: web.UrlDispatcher) -> None:
    """Serve the admin endpoints on `emulator`'s app."""
    from ordergate.testing.binance_emulator import _json_response

    async def admin_state(request: web.Request) -> web.StreamResponse:
        return _json_response(emulator.state())

    async def admin_add_fault(request: web.Request) -> web.StreamResponse:
        try:
            fault = Fault.from_json(await request.json())
        except ValueError as err:
            return _json_response({"error": str(err)}, status=400)
        emulator.inject_fault(fault)
        return _json_response(fault.to_json())

    async def admin_clear_faults(request: web.Request) -> web.StreamResponse:
        emulator.clear_faults()
        return _json_response({})

    async def admin_book(request: web.Request) -> web.StreamResponse:
        data = await request.json()
        try:
            trades = emulator.set_book(
                str(data["symbol"]),
                [(Decimal(str(p)), Decimal(str(q))) for p, q in data.get("bids", [])],
                [(Decimal(str(p)), Decimal(str(q))) for p, q in data.get("asks", [])],
            )
        except BinanceApiError as err:
            return _json_response({"code": err.code, "msg": err.msg}, status=err.http_status)
        return _json_response({"trades": [t.to_json() for t in trades]})

    async def admin_trade(request: web.Request) -> web.StreamResponse:
        data = await request.json()
        try:
            trades = emulator.trade_against_resting(str(data["symbol"]), str(data["price"]), str(data["qty"]))
        except BinanceApiError as err:
            return _json_response({"code": err.code, "msg": err.msg}, status=err.http_status)
        return _json_response({"trades": [t.to_json() for t in trades]})

    async def admin_balance(request: web.Request) -> web.StreamResponse:
        """{"asset", "free", "locked"?, "api_key"?}: see `set_balance`."""
        data = await request.json()
        try:
            emulator.set_balance(str(data["asset"]), str(data["free"]), str(data.get("locked", "0")),
                             api_key=data.get("api_key"))
        except KeyError as err:
            return _json_response({"error": str(err)}, status=400)
        return _json_response({})

    async def admin_add_account(request: web.Request) -> web.StreamResponse:
        """{"api_key", "api_secret", "balances"?: {"USDT": "100"}}: see `add_account`."""
        data = await request.json()
        try:
            balances = {str(a): Decimal(str(v)) for a, v in (data.get("balances") or {}).items()}
            emulator.add_account(str(data["api_key"]), str(data["api_secret"]),
                             dict(DEFAULT_BALANCES) | balances)
        except (KeyError, ValueError, InvalidOperation) as err:
            return _json_response({"error": str(err)}, status=400)
        return _json_response({"api_keys": emulator.api_keys})

    async def admin_clock(request: web.Request) -> web.StreamResponse:
        """{"offset_ms": N}: the venue's clock N ms ahead of ours (negative: behind)."""
        data = await request.json()
        emulator.set_clock_offset(int(data["offset_ms"]))
        return _json_response({"offset_ms": emulator.clock_offset_ms,
                               "serverTime": emulator.server_time_ms()})

    async def admin_account(request: web.Request) -> web.StreamResponse:
        """{"pay_fees_in_bnb": true, "api_key"?: KEY}: see `pay_fees_in_bnb`."""
        data = await request.json()
        key = data.get("api_key")
        try:
            if "pay_fees_in_bnb" in data:
                emulator.pay_fees_in_bnb(bool(data["pay_fees_in_bnb"]), api_key=key)
            with emulator._lock:
                enabled = emulator.market.wallet(emulator._account(key)).pay_fees_in_bnb
        except KeyError as err:
            return _json_response({"error": str(err)}, status=400)
        return _json_response({"pay_fees_in_bnb": enabled})

    async def admin_filters(request: web.Request) -> web.StreamResponse:
        """{"symbol": "BTCUSDT", "tick_size": "0.1", ...}: see `set_filters`."""
        data = dict(await request.json())
        symbol = str(data.pop("symbol"))
        try:
            spec = emulator.set_filters(symbol, **{k: str(v) for k, v in data.items()})
        except BinanceApiError as err:
            return _json_response({"code": err.code, "msg": err.msg}, status=err.http_status)
        except ValueError as err:
            return _json_response({"error": str(err)}, status=400)
        return _json_response(symbol_info(spec))

    router.add_get("/_admin/state", admin_state)
    router.add_post("/_admin/faults", admin_add_fault)
    router.add_delete("/_admin/faults", admin_clear_faults)
    router.add_post("/_admin/book", admin_book)
    router.add_post("/_admin/trade", admin_trade)
    router.add_post("/_admin/balance", admin_balance)
    router.add_post("/_admin/clock", admin_clock)
    router.add_post("/_admin/filters", admin_filters)
    router.add_post("/_admin/account", admin_account)
    router.add_post("/_admin/accounts", admin_add_account)
