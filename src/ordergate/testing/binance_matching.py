"""The matching of the Binance emulator's market (`binance_market.py`): what trades, and
when. An order against the book on arrival or on its trigger (`execute_order`: what
crosses trades as taker, the rest rests or expires), the waiting stops the last price has
reached (`trigger_stops`: each executed in turn, its trades moving the last price), and the
resting orders a new book crosses (`match_resting_against_book`: as makers, at their own
limit price). What each trade moves, balances, commission and the trade record, is
`binance_settlement.py`. Apart from the market so that the matching is read on its own,
apart from the accounts, books and orders it works on, as functions that take the market."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from ordergate.testing.binance_records import (
    MARKET_LIKE,
    PRICED_TYPES,
    ZERO,
    EmulatedOrder,
    EmulatedTrade,
)
from ordergate.testing.binance_settlement import fill_order
from ordergate.testing.binance_stops import STOP_MARKET_TYPES, is_triggered

if TYPE_CHECKING:
    from ordergate.testing.binance_market import BinanceMarket


def execute_order(market: BinanceMarket, order: EmulatedOrder) -> list[EmulatedTrade]:
    """Match a working order against the book on arrival (or on being triggered):
    what crosses trades as taker, the rest rests (a limit) or expires (a market
    order, IOC, FOK)."""
    book = market.books[order.symbol]
    side, otype, qty = order.side, order.type, order.remaining
    tif = "" if otype in MARKET_LIKE else order.time_in_force
    levels = book.asks if side == "BUY" else book.bids
    limit = order.price if otype in PRICED_TYPES else None

    def crosses(level_price: Decimal) -> bool:
        if limit is None:
            return True
        return level_price <= limit if side == "BUY" else level_price >= limit

    if tif == "FOK":
        available = sum((lv[1] for lv in levels if crosses(lv[0])), ZERO)
        if available < qty:
            market._close(order, "EXPIRED")
            return []
    fills: list[EmulatedTrade] = []
    for level in levels:
        if order.remaining <= 0 or not crosses(level[0]):
            break
        take = min(order.remaining, level[1])
        level[1] -= take
        fills.append(fill_order(market, order, level[0], take, is_maker=False))
    book.prune()
    market.update_id += 1
    if order.remaining <= 0:
        market._close(order, "FILLED")
    elif otype in MARKET_LIKE or tif in ("IOC", "FOK"):
        market._close(order, "EXPIRED")
    return fills


def trigger_stops(market: BinanceMarket, symbol: str) -> list[EmulatedTrade]:
    """Trigger the waiting stops the last price has reached, oldest first, and execute
    each; its trades move the last price, which may trigger the next."""
    trades: list[EmulatedTrade] = []
    waiting = market._waiting.get(symbol)
    while waiting and (last := market.last_price(symbol)) is not None:
        due = next((o for o in waiting
                    if is_triggered(o.type, o.side, o.stop_price, last)), None)
        if due is None:
            break
        waiting.remove(due)
        due.working = True
        due.working_time_ms = due.update_time_ms = market._now()
        if due.order_list_id >= 0 and market.list_hook is not None:
            market.list_hook.triggered(due)  # the other leg ends before this one executes
        if due.type in STOP_MARKET_TYPES and due.locked > 0:  # it pays at market now
            spec = market.symbols[symbol]
            market._move(spec.quote if due.side == "BUY" else spec.base, due.locked,
                         to_locked=False, account=due.account)
            due.locked = ZERO
        trades.extend(execute_order(market, due))
    return trades


def match_resting_against_book(market: BinanceMarket, symbol: str) -> list[EmulatedTrade]:
    book = market.books[symbol]
    trades: list[EmulatedTrade] = []
    for order in market.resting(symbol):
        if not order.is_open:  # ended by an order list while this loop ran
            continue
        levels = book.asks if order.side == "BUY" else book.bids
        for level in levels:
            if order.remaining <= 0:
                break
            crosses = level[0] <= order.price if order.side == "BUY" else level[0] >= order.price
            if not crosses:
                break
            take = min(order.remaining, level[1])
            level[1] -= take
            trades.append(fill_order(market, order, order.price, take, is_maker=True))
        book.prune()
        market._finish_if_done(order)
    return trades
