"""The emulated CLOB's public endpoints (`emulator.py`), no authentication: health,
server time, markets, tick size, neg-risk, fee rate, order book(s), price, midpoint,
spread and last trade price, each answered from the exchange under its lock in the
shapes `py-clob-client` reads. Apart from the emulator's lifecycle and its private
endpoints so that each module holds one concept: this one is the venue's market data."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aiohttp import web

from ordergate.testing.polymarket_emulator.book import best_bid_ask, book_json, last_trade_price
from ordergate.testing.polymarket_emulator.records import END_CURSOR, _ApiError, _fmt

if TYPE_CHECKING:
    from ordergate.testing.polymarket_emulator.emulator import PolymarketEmulator


def add_routes(emulator: PolymarketEmulator, router: web.UrlDispatcher) -> None:
    """Serve the public endpoints on `emulator`'s app (its exchange and lock)."""

    async def ok(request: web.Request) -> web.StreamResponse:
        return web.json_response("OK")

    async def server_time(request: web.Request) -> web.StreamResponse:
        return web.json_response(int(emulator.now()))

    async def markets(request: web.Request) -> web.StreamResponse:
        with emulator.lock:
            data = [m.to_json() for m in emulator.markets.values()]
        return web.json_response(
            {"limit": 1000, "count": len(data), "next_cursor": END_CURSOR, "data": data}
        )

    async def market_info(request: web.Request) -> web.StreamResponse:
        with emulator.lock:
            market = emulator.markets.get(request.match_info["condition_id"])
            if market is None:
                raise _ApiError(404, "market not found")
            return web.json_response(market.to_json())

    async def tick_size(request: web.Request) -> web.StreamResponse:
        with emulator.lock:
            market = emulator._market_of_token(request.query.get("token_id"))
            # A number on the wire, as Polymarket sends it.
            return web.json_response({"minimum_tick_size": float(market.tick_size)})

    async def neg_risk(request: web.Request) -> web.StreamResponse:
        with emulator.lock:
            market = emulator._market_of_token(request.query.get("token_id"))
            return web.json_response({"neg_risk": market.neg_risk})

    async def fee_rate(request: web.Request) -> web.StreamResponse:
        with emulator.lock:
            market = emulator._market_of_token(request.query.get("token_id"))
            return web.json_response({"base_fee": market.fee_rate_bps})

    async def book(request: web.Request) -> web.StreamResponse:
        with emulator.lock:
            return web.json_response(book_json(emulator, request.query.get("token_id", "")))

    async def books(request: web.Request) -> web.StreamResponse:
        params = json.loads(await request.text() or "[]")
        with emulator.lock:
            return web.json_response([book_json(emulator, p["token_id"]) for p in params])

    async def price(request: web.Request) -> web.StreamResponse:
        """side=BUY answers the best bid, side=SELL the best ask."""
        side = request.query.get("side", "").upper()
        if side not in ("BUY", "SELL"):
            raise _ApiError(400, "invalid side")
        with emulator.lock:
            bid, ask = best_bid_ask(emulator, request.query.get("token_id", ""))
        price = bid if side == "BUY" else ask
        if price is None:
            raise _ApiError(404, "No orderbook exists for the requested token id")
        return web.json_response({"price": _fmt(price)})

    async def midpoint(request: web.Request) -> web.StreamResponse:
        with emulator.lock:
            bid, ask = best_bid_ask(emulator, request.query.get("token_id", ""))
        if bid is None or ask is None:
            raise _ApiError(404, "No orderbook exists for the requested token id")
        return web.json_response({"mid": _fmt((bid + ask) / 2)})

    async def spread(request: web.Request) -> web.StreamResponse:
        with emulator.lock:
            bid, ask = best_bid_ask(emulator, request.query.get("token_id", ""))
        if bid is None or ask is None:
            raise _ApiError(404, "No orderbook exists for the requested token id")
        return web.json_response({"spread": _fmt(ask - bid)})

    async def last_trade_price_endpoint(request: web.Request) -> web.StreamResponse:
        with emulator.lock:
            token_id = request.query.get("token_id", "")
            emulator._market_of_token(token_id)
            price = last_trade_price(emulator, token_id)
        return web.json_response({"price": _fmt(price) if price is not None else "0", "side": ""})

    router.add_get("/", ok)
    router.add_get("/time", server_time)
    router.add_get("/markets", markets)
    router.add_get("/markets/{condition_id}", market_info)
    router.add_get("/sampling-markets", markets)
    router.add_get("/tick-size", tick_size)
    router.add_get("/neg-risk", neg_risk)
    router.add_get("/fee-rate", fee_rate)
    router.add_get("/book", book)
    router.add_post("/books", books)
    router.add_get("/price", price)
    router.add_get("/midpoint", midpoint)
    router.add_get("/spread", spread)
    router.add_get("/last-trade-price", last_trade_price_endpoint)
