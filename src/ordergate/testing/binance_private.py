"""Binance's private (signed) order and account endpoints on the emulator
(`binance_emulator.py`): account, order (POST/GET/DELETE), openOrders and myTrades, each
authenticated like Binance (`binance_signing.py`) and answered from the market acting for
the signing key's account. Apart from the emulator's lifecycle, faults and test-facing API
so that each module holds one concept: this one is the shape of Binance's answers about
an account's orders and trades. The shapes of a new and a cancelled order are shared with
`order/cancelReplace` (`binance_cancel_replace.py`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ordergate.testing.binance_market import (
    BinanceApiError,
    EmulatedOrder,
    EmulatedTrade,
    fmt,
    required,
)
from ordergate.testing.binance_signing import signed_params

if TYPE_CHECKING:
    from ordergate.testing.binance_emulator import BinanceEmulator


def new_order_body(order: EmulatedOrder, fills: Sequence[EmulatedTrade],
                   params: Mapping[str, str]) -> dict[str, Any]:
    """A new order's answer, in the `newOrderRespType` asked for (`cancelReplace`'s
    `newOrderResponse` too)."""
    resp_type = params.get("newOrderRespType", "FULL" if order.type in ("MARKET", "LIMIT") else "ACK")
    body: dict[str, Any] = {
        "symbol": order.symbol, "orderId": order.order_id, "orderListId": -1,
        "clientOrderId": order.client_order_id, "transactTime": order.time_ms,
    }
    if resp_type in ("RESULT", "FULL"):
        full = order.to_json()
        for key in ("time", "updateTime", "isWorking", "stopPrice", "icebergQty",
                    "origQuoteOrderQty"):
            if not (key == "stopPrice" and order.stop_price):  # a stop shows its own
                full.pop(key, None)
        body |= full
    if resp_type == "FULL":
        body["fills"] = [{"price": fmt(t.price), "qty": fmt(t.qty),
                          "commission": fmt(t.commission),
                          "commissionAsset": t.commission_asset,
                          "tradeId": t.trade_id} for t in fills]
    return body


def cancel_body(emulator: BinanceEmulator, order: EmulatedOrder,
                cancel_client_id: str | None) -> dict[str, Any]:
    """A cancelled order's answer (`cancelReplace`'s `cancelResponse` too)."""
    body = order.to_json()
    for key in ("time", "updateTime", "isWorking", "workingTime", "stopPrice",
                "icebergQty", "origQuoteOrderQty"):
        body.pop(key, None)
    body["origClientOrderId"] = order.client_order_id
    body["clientOrderId"] = cancel_client_id or f"cancel{order.order_id}"
    body["transactTime"] = emulator.server_time_ms()
    return body


def add_routes(emulator: BinanceEmulator, router: web.UrlDispatcher) -> None:
    """Serve the signed order and account endpoints on `emulator`'s app (its signing, lock,
    market and state file)."""
    from ordergate.testing.binance_emulator import _json_response

    async def account(request: web.Request) -> web.StreamResponse:
        await signed_params(emulator, request)
        with emulator.acting(request) as market:
            balances = [{"asset": a, "free": fmt(f), "locked": fmt(lk)}
                        for a, (f, lk) in market.balances().items()]
        return _json_response({
            "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {"maker": "0.00100000", "taker": "0.00100000",
                                "buyer": "0.00000000", "seller": "0.00000000"},
            "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
            "requireSelfTradePrevention": False, "preventSor": False,
            "updateTime": emulator.server_time_ms(), "accountType": "SPOT", "balances": balances,
            "permissions": ["SPOT"], "uid": 354937868,
        })

    async def new_order(request: web.Request) -> web.StreamResponse:
        params = await signed_params(emulator, request)
        with emulator.acting(request):
            order, fills = emulator.market.new_order(params)
            emulator._persist()
            return _json_response(new_order_body(order, fills, params))

    async def query_order(request: web.Request) -> web.StreamResponse:
        params = await signed_params(emulator, request)
        with emulator.acting(request):
            order = emulator.market.find_order(params)
            if order is None:
                raise BinanceApiError(400, -2013, "Order does not exist.")
            return _json_response(order.to_json())

    async def cancel_order(request: web.Request) -> web.StreamResponse:
        params = await signed_params(emulator, request)
        with emulator.acting(request):
            order = emulator.market.find_order(params)
            if order is None or not order.is_open:
                raise BinanceApiError(400, -2011, "Unknown order sent.")
            emulator.market.cancel(order)
            emulator._persist()
            return _json_response(cancel_body(emulator, order, params.get("newClientOrderId")))

    async def open_orders(request: web.Request) -> web.StreamResponse:
        params = await signed_params(emulator, request)
        with emulator.acting(request):
            symbol = params.get("symbol")
            if symbol is not None:
                emulator.market.spec(symbol)
            rows = [o.to_json() for o in emulator.market.own_orders()
                    if o.is_open and (symbol is None or o.symbol == symbol)]
        return _json_response(rows)

    async def my_trades(request: web.Request) -> web.StreamResponse:
        """GET /api/v3/myTrades as Binance documents it: `limit` 500 by default, at most
        1000 (more is served as 1000); with `fromId`, the trades with ID >= fromId, oldest
        first; with `startTime`, the first ones from then on; otherwise the *most recent*
        `limit` trades (oldest first within the page). Only Binance's combinations of the
        optional parameters are accepted (-1128 otherwise), startTime..endTime at most
        24 hours (-1127)."""
        params = await signed_params(emulator, request)
        symbol = required(params, "symbol")
        given = frozenset(k for k in ("orderId", "startTime", "endTime", "fromId")
                          if params.get(k, "") != "")
        if given not in _MY_TRADES_COMBINATIONS:
            raise BinanceApiError(400, -1128, "Combination of optional parameters invalid.")
        numbers = {k: _long_param(params, k) for k in (*given, "limit") if params.get(k, "") != ""}
        if "startTime" in numbers and "endTime" in numbers and (
                numbers["endTime"] - numbers["startTime"] > _DAY_MS):
            raise BinanceApiError(400, -1127, "More than 24 hours between startTime and endTime.")
        limit = numbers.get("limit", 500)
        if limit < 1:
            raise BinanceApiError(400, -1130, "Data sent for parameter 'limit' is not valid.")
        limit = min(limit, 1000)
        with emulator.acting(request):
            emulator.market.spec(symbol)
            rows = [t for t in emulator.market.own_trades() if t.symbol == symbol
                    and ("orderId" not in numbers or t.order_id == numbers["orderId"])
                    and ("fromId" not in numbers or t.trade_id >= numbers["fromId"])
                    and ("startTime" not in numbers or t.time_ms >= numbers["startTime"])
                    and ("endTime" not in numbers or t.time_ms <= numbers["endTime"])]
            rows.sort(key=lambda t: t.trade_id)
            oldest_first = "fromId" in numbers or "startTime" in numbers
            rows = rows[:limit] if oldest_first else rows[-limit:]
            return _json_response([t.to_json() for t in rows])

    router.add_get("/api/v3/account", account)
    router.add_post("/api/v3/order", new_order)
    router.add_get("/api/v3/order", query_order)
    router.add_delete("/api/v3/order", cancel_order)
    router.add_get("/api/v3/openOrders", open_orders)
    router.add_get("/api/v3/myTrades", my_trades)


# GET /api/v3/myTrades: the optional parameters Binance accepts together (besides symbol).
_MY_TRADES_COMBINATIONS = frozenset(frozenset(c) for c in (
    (), ("orderId",), ("startTime",), ("endTime",), ("fromId",), ("startTime", "endTime"),
    ("orderId", "fromId")))
_DAY_MS = 24 * 3600 * 1000


def _long_param(params: Mapping[str, str], name: str) -> int:
    text = params[name]
    if not text.lstrip("-").isdigit():
        raise BinanceApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.")
    return int(text)
