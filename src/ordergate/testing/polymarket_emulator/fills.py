"""The trades a match makes on the emulated CLOB (`exchange.py`): an incoming order of
an account filled as taker against the test's external liquidity (`fill_as_taker`, which
pays the market's fee), or a resting order filled as maker by an external taker
(`fill_as_maker`, no fee); either way the trade is recorded MATCHED and handed to the
chain to settle (`record_trade`, `chain.py`). Apart from the exchange so that what a
trade records, and what it costs, is read in one place, apart from the checks and the
book walking that decide it. Called under the exchange's lock."""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

from ordergate.testing.polymarket_emulator.records import (
    ONE,
    ZERO,
    ZERO_ADDRESS,
    EmuAccount,
    EmuMarket,
    EmuOrder,
    EmuTrade,
    Leg,
    _fmt,
)

if TYPE_CHECKING:
    from ordergate.testing.polymarket_emulator.exchange import ClobExchange


def trade_fee(bps: int, price: Decimal, size: Decimal) -> Decimal:
    return (Decimal(bps) / Decimal(10_000)) * min(price, ONE - price) * size


def fill_as_taker(exchange: ClobExchange, account: EmuAccount, order: EmuOrder,
                  price: Decimal, qty: Decimal, market: EmuMarket) -> EmuTrade:
    trade_id = str(uuid.UUID(int=int(hashlib.sha256(
        f"{order.id}:{len(exchange.trades)}".encode()).hexdigest()[:32], 16)))
    maker_side = "SELL" if order.side == "BUY" else "BUY"
    trade = EmuTrade(
        id=trade_id,
        taker_order_id=order.id,
        market=order.market,
        token_id=order.token_id,
        outcome=order.outcome,
        side=order.side,
        size=qty,
        price=price,
        fee_rate_bps=market.fee_rate_bps,
        match_time=int(exchange.now()),
        owner=account.api_key,
        maker_address=order.maker_address,
        maker_orders=[{
            "order_id": exchange._next_id("ext-"),
            "owner": "",
            "maker_address": ZERO_ADDRESS,
            "matched_amount": _fmt(qty),
            "price": _fmt(price),
            "fee_rate_bps": "0",
            "asset_id": order.token_id,
            "outcome": order.outcome,
            "side": maker_side,
        }],
    )
    trade.legs.append(Leg(account.api_key, order.side, order.token_id, price, qty,
                          trade_fee(market.fee_rate_bps, price, qty)))
    order.size_matched += qty
    order.associate_trades.append(trade_id)
    record_trade(exchange, trade)
    return trade


def fill_as_maker(exchange: ClobExchange, order: EmuOrder, qty: Decimal) -> EmuTrade:
    market = exchange.markets[order.market]
    trade_id = str(uuid.UUID(int=int(hashlib.sha256(
        f"{order.id}:{len(exchange.trades)}".encode()).hexdigest()[:32], 16)))
    taker_side = "SELL" if order.side == "BUY" else "BUY"
    trade = EmuTrade(
        id=trade_id,
        taker_order_id=exchange._next_id("ext-"),
        market=order.market,
        token_id=order.token_id,
        outcome=order.outcome,
        side=taker_side,
        size=qty,
        price=order.price,
        fee_rate_bps=market.fee_rate_bps,
        match_time=int(exchange.now()),
        owner="",
        maker_address=ZERO_ADDRESS,
        maker_orders=[{
            "order_id": order.id,
            "owner": order.owner,
            "maker_address": order.maker_address,
            "matched_amount": _fmt(qty),
            "price": _fmt(order.price),
            "fee_rate_bps": "0",
            "asset_id": order.token_id,
            "outcome": order.outcome,
            "side": order.side,
        }],
    )
    order.size_matched += qty
    order.associate_trades.append(trade_id)
    if order.remaining <= 0:
        order.status = "MATCHED"
    trade.legs.append(Leg(order.owner, order.side, order.token_id, order.price, qty, ZERO))
    record_trade(exchange, trade)
    return trade


def record_trade(exchange: ClobExchange, trade: EmuTrade) -> None:
    """A match: the trade is MATCHED now, and settles on chain later (`chain.py`)."""
    trade.matched_at = exchange.now()
    exchange.trades.append(trade)
    exchange.chain.matched(trade)
    exchange.settle()
