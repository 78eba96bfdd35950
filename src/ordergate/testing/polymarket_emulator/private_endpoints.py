"""The emulated CLOB's authenticated endpoints (`emulator.py`), each checked with the L2
headers first (`l2_auth.py`): an order placed (`POST /order`, `new_order.py`), cancelled
one, several or all at once, read by ID (200 with `null` for one it does not know or of
another account, as the real venue answers), the open orders and the trades, filtered as
`py-clob-client` asks, and the balance and allowances of the collateral or an outcome
token. Apart from the emulator's lifecycle and its public endpoints so that each module
holds one concept: this one is what an account does and sees of its own."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aiohttp import web

from ordergate.testing.polymarket_emulator.l2_auth import authenticate
from ordergate.testing.polymarket_emulator.new_order import place_order
from ordergate.testing.polymarket_emulator.records import (
    _EXCHANGES,
    END_CURSOR,
    USDC_UNIT,
    ZERO,
    _ApiError,
)

if TYPE_CHECKING:
    from ordergate.testing.polymarket_emulator.emulator import PolymarketEmulator


def add_routes(emulator: PolymarketEmulator, router: web.UrlDispatcher) -> None:
    """Serve the authenticated endpoints on `emulator`'s app (its exchange and lock)."""

    async def post_order(request: web.Request) -> web.StreamResponse:
        account, body = await authenticate(emulator, request)
        payload = json.loads(body)
        with emulator.lock:
            emulator.post_order_attempts += 1
            emulator._expire_orders()
            result = place_order(emulator, account, payload,
                                 request.headers.get("POLY_ADDRESS", ""))
        return web.json_response(result)

    async def cancel(request: web.Request) -> web.StreamResponse:
        account, body = await authenticate(emulator, request)
        oid = str(json.loads(body or "{}").get("orderID", ""))
        with emulator.lock:
            return web.json_response(emulator._cancel_ids(account, [oid]))

    async def cancel_many(request: web.Request) -> web.StreamResponse:
        account, body = await authenticate(emulator, request)
        ids = [str(i) for i in json.loads(body or "[]")]
        with emulator.lock:
            return web.json_response(emulator._cancel_ids(account, ids))

    async def cancel_all(request: web.Request) -> web.StreamResponse:
        account, _ = await authenticate(emulator, request)
        with emulator.lock:
            ids = [o.id for o in emulator.orders.values()
                   if o.owner == account.api_key and o.status == "LIVE"]
            return web.json_response(emulator._cancel_ids(account, ids))

    async def get_order(request: web.Request) -> web.StreamResponse:
        account, _ = await authenticate(emulator, request)
        with emulator.lock:
            emulator._expire_orders()
            order = emulator.orders.get(request.match_info["order_id"])
            if order is None or order.owner != account.api_key:
                return web.json_response(None)
            return web.json_response(order.to_json())

    async def open_orders(request: web.Request) -> web.StreamResponse:
        account, _ = await authenticate(emulator, request)
        q = request.query
        with emulator.lock:
            emulator._expire_orders()
            data = [
                o.to_json()
                for o in emulator.orders.values()
                if o.owner == account.api_key
                and o.status == "LIVE"
                and (not q.get("id") or o.id == q["id"])
                and (not q.get("market") or o.market == q["market"])
                and (not q.get("asset_id") or o.token_id == q["asset_id"])
            ]
        return web.json_response(
            {"data": data, "next_cursor": END_CURSOR, "limit": 500, "count": len(data)}
        )

    async def get_trades(request: web.Request) -> web.StreamResponse:
        account, _ = await authenticate(emulator, request)
        q = request.query
        with emulator.lock:
            data = []
            for t in emulator.trades:
                mine = t.owner == account.api_key or any(
                    m.get("owner") == account.api_key for m in t.maker_orders
                )
                if not mine:
                    continue
                if q.get("id") and t.id != q["id"]:
                    continue
                if q.get("market") and t.market != q["market"]:
                    continue
                if q.get("asset_id") and t.token_id != q["asset_id"]:
                    continue
                if q.get("after") and t.match_time < int(q["after"]):
                    continue
                if q.get("before") and t.match_time > int(q["before"]):
                    continue
                now = emulator.now()
                data.append(t.to_json(account.api_key, emulator.chain.status(t, now),
                                      emulator.chain.last_update(t, now)))
        return web.json_response(
            {"data": data, "next_cursor": END_CURSOR, "limit": 500, "count": len(data)}
        )

    async def balance_allowance(request: web.Request) -> web.StreamResponse:
        account, _ = await authenticate(emulator, request)
        asset_type = request.query.get("asset_type", "COLLATERAL").upper()
        with emulator.lock:
            if asset_type == "COLLATERAL":
                balance = account.collateral
            elif asset_type == "CONDITIONAL":
                token_id = request.query.get("token_id", "")
                emulator._market_of_token(token_id, status=400)
                balance = account.tokens.get(token_id, ZERO)
            else:
                raise _ApiError(400, f"invalid asset type {asset_type}")
        micro = int((balance * USDC_UNIT).to_integral_value())
        unlimited = str(2**256 - 1)
        return web.json_response({
            "balance": str(micro),
            "allowances": {exchange: unlimited for exchange in _EXCHANGES.values()},
        })

    router.add_post("/order", post_order)
    router.add_delete("/order", cancel)
    router.add_delete("/orders", cancel_many)
    router.add_delete("/cancel-all", cancel_all)
    router.add_get("/data/order/{order_id}", get_order)
    router.add_get("/data/orders", open_orders)
    router.add_get("/data/trades", get_trades)
    router.add_get("/balance-allowance", balance_allowance)
    router.add_get("/balance-allowance/update", balance_allowance)
