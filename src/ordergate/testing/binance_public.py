"""Binance's public market-data endpoints on the emulator (`binance_emulator.py`): ping,
time, exchangeInfo (with the filters ccxt reads as market limits), depth, bookTicker and
the 24-hour ticker, each answered from the emulator's market under its lock. Apart from
the emulator's lifecycle, signing and private endpoints so that each module holds one
concept: this one is the shape of Binance's public answers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ordergate.testing.binance_market import ZERO, BinanceApiError, SymbolSpec, fmt, required
from ordergate.testing.binance_signing import request_params

if TYPE_CHECKING:
    from ordergate.testing.binance_emulator import BinanceEmulator


def symbol_info(s: SymbolSpec) -> dict[str, Any]:
    """A symbol as `exchangeInfo` lists it: status, assets, order types and the filters
    (price, lot, notional) ccxt turns into its market limits."""
    return {
        "symbol": s.symbol,
        "status": s.status,
        "baseAsset": s.base,
        "baseAssetPrecision": 8,
        "quoteAsset": s.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT",
                       "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "amendAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": fmt(s.min_price),
             "maxPrice": fmt(s.max_price), "tickSize": fmt(s.tick_size)},
            {"filterType": "LOT_SIZE", "minQty": fmt(s.min_qty), "maxQty": fmt(s.max_qty),
             "stepSize": fmt(s.step_size)},
            {"filterType": "MIN_NOTIONAL", "minNotional": fmt(s.min_notional),
             "applyToMarket": True, "avgPriceMins": 5},
            {"filterType": "NOTIONAL", "minNotional": fmt(s.min_notional),
             "applyMinToMarket": True, "maxNotional": "9000000.00000000",
             "applyMaxToMarket": False, "avgPriceMins": 5},
            {"filterType": "MARKET_LOT_SIZE", "minQty": fmt(ZERO), "maxQty": fmt(s.max_qty),
             "stepSize": fmt(ZERO)},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def add_routes(emulator: BinanceEmulator, router: web.UrlDispatcher) -> None:
    """Serve the public endpoints on `emulator`'s app (its market and lock)."""
    from ordergate.testing.binance_emulator import _json_response

    async def ping(request: web.Request) -> web.StreamResponse:
        return _json_response({})

    async def server_time(request: web.Request) -> web.StreamResponse:
        return _json_response({"serverTime": emulator.server_time_ms()})

    async def exchange_info(request: web.Request) -> web.StreamResponse:
        params = await request_params(request)
        with emulator._lock:
            wanted = symbols_param(params)
            symbols = [symbol_info(emulator.market.symbols[s]) for s in wanted]
        return _json_response({
            "timezone": "UTC",
            "serverTime": emulator.server_time_ms(),
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
            ],
            "exchangeFilters": [],
            "symbols": symbols,
        })

    def symbols_param(params: Mapping[str, str]) -> list[str]:
        if "symbol" in params:
            emulator.market.spec(params["symbol"])
            return [params["symbol"]]
        if "symbols" in params:
            try:
                names = json.loads(params["symbols"])
            except ValueError:
                raise BinanceApiError(400, -1100, "Illegal characters found in parameter 'symbols'.") from None
            for name in names:
                emulator.market.spec(str(name))
            return [str(n) for n in names]
        return list(emulator.market.symbols)

    async def depth(request: web.Request) -> web.StreamResponse:
        params = await request_params(request)
        symbol = required(params, "symbol")
        limit = int(params.get("limit", "100") or "100")
        with emulator._lock:
            emulator.market.spec(symbol)
            b = emulator.market.books[symbol]
            return _json_response({
                "lastUpdateId": emulator.market.update_id,
                "bids": [[fmt(p), fmt(q)] for p, q in b.bids[:limit]],
                "asks": [[fmt(p), fmt(q)] for p, q in b.asks[:limit]],
            })

    def top_of_book(symbol: str) -> dict[str, str]:
        b = emulator.market.books[symbol]
        bid = b.bids[0] if b.bids else [ZERO, ZERO]
        ask = b.asks[0] if b.asks else [ZERO, ZERO]
        return {"bidPrice": fmt(bid[0]), "bidQty": fmt(bid[1]),
                "askPrice": fmt(ask[0]), "askQty": fmt(ask[1])}

    async def book_ticker(request: web.Request) -> web.StreamResponse:
        params = await request_params(request)
        with emulator._lock:
            names = symbols_param(params)
            rows = [{"symbol": s} | top_of_book(s) for s in names]
        return _json_response(rows[0] if "symbol" in params else rows)

    async def ticker_24hr(request: web.Request) -> web.StreamResponse:
        params = await request_params(request)
        now = emulator.server_time_ms()
        with emulator._lock:
            names = symbols_param(params)
            rows = []
            for s in names:
                top = top_of_book(s)
                trades = [t for t in emulator.market.trades if t.symbol == s]
                last = trades[-1].price if trades else (
                    (Decimal(top["bidPrice"]) + Decimal(top["askPrice"])) / 2)
                volume = sum((t.qty for t in trades), ZERO)
                quote_volume = sum((t.quote_qty for t in trades), ZERO)
                rows.append({
                    "symbol": s, "priceChange": fmt(ZERO), "priceChangePercent": "0.000",
                    "weightedAvgPrice": fmt(last), "prevClosePrice": fmt(last),
                    "lastPrice": fmt(last), "lastQty": fmt(trades[-1].qty if trades else ZERO),
                    **top,
                    "openPrice": fmt(last), "highPrice": fmt(last), "lowPrice": fmt(last),
                    "volume": fmt(volume), "quoteVolume": fmt(quote_volume),
                    "openTime": now - 86_400_000, "closeTime": now,
                    "firstId": trades[0].trade_id if trades else -1,
                    "lastId": trades[-1].trade_id if trades else -1, "count": len(trades),
                })
        return _json_response(rows[0] if "symbol" in params else rows)

    router.add_get("/api/v3/ping", ping)
    router.add_get("/api/v3/time", server_time)
    router.add_get("/api/v3/exchangeInfo", exchange_info)
    router.add_get("/api/v3/depth", depth)
    router.add_get("/api/v3/ticker/bookTicker", book_ticker)
    router.add_get("/api/v3/ticker/24hr", ticker_24hr)
