"""The order book as the emulated CLOB (`exchange.py`) shows it: `/book`'s JSON for a
token (the test's external levels and the accounts' own resting orders summed per price,
best bid and best ask last, with the venue's hash), the last trade's price and the best
bid and ask (`/price`, `/midpoint`, `/spread`). Apart from the exchange so that what the
venue shows of its book is read apart from how orders match against it. Called under the
exchange's lock."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ordergate.testing.polymarket_emulator.records import ZERO, _dec, _fmt

if TYPE_CHECKING:
    from ordergate.testing.polymarket_emulator.exchange import ClobExchange


def book_json(exchange: ClobExchange, token_id: str) -> dict[str, Any]:
    market = exchange._market_of_token(token_id)
    exchange._expire_orders()
    book = exchange.books[token_id]
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    for price, size in book["bids"]:
        bids[price] = bids.get(price, ZERO) + size
    for price, size in book["asks"]:
        asks[price] = asks.get(price, ZERO) + size
    for order in exchange.orders.values():
        if order.token_id == token_id and order.status == "LIVE":
            levels = bids if order.side == "BUY" else asks
            levels[order.price] = levels.get(order.price, ZERO) + order.remaining
    last = last_trade_price(exchange, token_id)
    payload: dict[str, Any] = {
        "market": market.condition_id,
        "asset_id": token_id,
        "timestamp": str(int(exchange.now() * 1000)),
        "hash": "",
        # As on the real venue: best bid and best ask come last.
        "bids": [{"price": _fmt(p), "size": _fmt(s)} for p, s in sorted(bids.items())],
        "asks": [
            {"price": _fmt(p), "size": _fmt(s)}
            for p, s in sorted(asks.items(), reverse=True)
        ],
        "min_order_size": _fmt(market.min_order_size),
        "tick_size": _fmt(market.tick_size),
        "neg_risk": market.neg_risk,
        "last_trade_price": _fmt(last) if last is not None else "",
    }
    serialized = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    payload["hash"] = hashlib.sha1(serialized.encode()).hexdigest()
    return payload


def last_trade_price(exchange: ClobExchange, token_id: str) -> Decimal | None:
    for trade in reversed(exchange.trades):
        if trade.token_id == token_id:
            return trade.price
    return None


def best_bid_ask(exchange: ClobExchange, token_id: str) -> tuple[Decimal | None, Decimal | None]:
    book = book_json(exchange, token_id)
    bid = _dec(book["bids"][-1]["price"]) if book["bids"] else None
    ask = _dec(book["asks"][-1]["price"]) if book["asks"] else None
    return bid, ask
