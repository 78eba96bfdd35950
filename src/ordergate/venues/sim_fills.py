"""How the simulated venue's orders fill: at what price, how much, and what a fill
changes. Written once, for every way an order comes to trade (on arrival, resting, a stop
triggered), so that a fill's rules cannot differ between them.

A taker (a market order, a limit that crosses on arrival, a stop as the order it becomes)
takes the touch in force, a market order's moved against it by `slippage_bps`, up to the
size quoted there; what a market order or an IOC cannot fill expires, a FOK the size
cannot fill whole expires unfilled, a limit's remainder rests. A resting order fills as
maker at its own price, up to the size quoted on the other side. A fill is a trade
report, the order's filled quantity and notional, the account's balances (the fee in the
quote currency), the order's lock shrunk to what its remainder can still consume
(`sim_funds`), and for an OCO leg the end of the other (`sim_oco`).

Plain functions of the venue, called directly from its matching: this is the backtest's
hot path, and a layer between would cost every quote that crosses an order.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from ordergate.domain.instrument import Instrument
from ordergate.domain.order import OrderStatus
from ordergate.domain.values import ZERO, Liquidity, Side, TimeInForce
from ordergate.venues import sim_oco
from ordergate.venues.base import TradeReport
from ordergate.venues.market_data import Quote
from ordergate.venues.sim_book import RestingBook
from ordergate.venues.sim_funds import lock, release, reservation

if TYPE_CHECKING:
    from ordergate.venues.simulated import SimulatedVenue, _SimOrder

S = OrderStatus
BPS = Decimal("0.0001")


def market_price(instrument: Instrument, side: Side, quote: Quote,
                 slippage_bps: Decimal) -> Decimal:
    """The touch moved against the taker by `slippage_bps`, rounded against the taker."""
    if side is Side.BUY:
        return instrument.round_price(quote.ask * (1 + slippage_bps * BPS), Side.SELL)
    return instrument.round_price(quote.bid * (1 - slippage_bps * BPS), Side.BUY)


def take(venue: SimulatedVenue, order: _SimOrder, instrument: Instrument,
         quote: Quote) -> None:
    """Immediate execution against the touch in force when the order arrives."""
    request = order.request
    buying = request.side is Side.BUY
    touch, size = (quote.ask, quote.ask_size) if buying else (quote.bid, quote.bid_size)
    price: Decimal | None
    if request.order_type.executes_at_market:
        price = market_price(instrument, request.side, quote, venue._s.slippage_bps)
    else:
        assert request.price is not None
        crosses = touch <= request.price if buying else touch >= request.price
        price = touch if crosses else None
    if price is not None and size > 0:
        quantity = min(size, order.remaining)
        if request.time_in_force is TimeInForce.FOK and quantity < order.remaining:
            order.status = S.EXPIRED
            return
        execute(venue, order, instrument, price, quantity, Liquidity.TAKER, order.active_from)
    if order.remaining == 0:
        order.status = S.FILLED
    elif request.order_type.executes_at_market or request.time_in_force in (
            TimeInForce.IOC, TimeInForce.FOK):
        order.status = S.EXPIRED
    else:
        book = venue._books.get(request.symbol)
        if book is None:
            book = venue._books[request.symbol] = RestingBook()
        venue._start_cursor(request.symbol, order.active_from)
        book.add(order)
        lock(venue, order, instrument)


def fill_resting(venue: SimulatedVenue, order: _SimOrder, instrument: Instrument,
                 quote: Quote) -> None:
    """A crossed resting order fills as maker at its own limit price, up to the size
    quoted on the other side."""
    request = order.request
    assert request.price is not None
    size = quote.ask_size if request.side is Side.BUY else quote.bid_size
    if size > 0:
        execute(venue, order, instrument, request.price, min(size, order.remaining),
                Liquidity.MAKER, quote.ts)


def trigger_stops(venue: SimulatedVenue, stops: RestingBook[_SimOrder],
                  instrument: Instrument, quote: Quote) -> None:
    """Execute the stops this quote triggers, on this quote, as the order each becomes
    (market or limit). Their lock is released first; a stop_limit that rests locks
    again at its price."""
    for order in stops.crossed_by(quote.bid, quote.ask):
        if order.active_from >= quote.ts:  # the arrival quote was checked on acceptance
            continue
        stops.remove(order)
        if order.oco is not None:  # the other leg ends before this one executes
            sim_oco.end_others(venue, order, S.EXPIRED, quote.ts)
        if order.locked:
            release(venue, order, ZERO)
        order.active_from = order.updated = quote.ts
        take(venue, order, instrument, quote)
        if order.status.is_terminal:
            venue._finish(order)


def execute(venue: SimulatedVenue, order: _SimOrder, instrument: Instrument, price: Decimal,
            quantity: Decimal, liquidity: Liquidity, ts: datetime) -> None:
    """One fill of `quantity` at `price`: the trade, the order, the balances, the lock."""
    request = order.request
    fee_rate = venue._s.taker_fee if liquidity is Liquidity.TAKER else venue._s.maker_fee
    notional = price * quantity
    fee = notional * fee_rate
    venue._trade_seq += 1
    trade = TradeReport(f"{venue.name}-t{venue._trade_seq}", request.client_order_id,
                        order.venue_order_id, request.symbol, request.side, price, quantity,
                        fee, instrument.quote, liquidity, ts)
    order.trades.append(trade)
    order.filled += quantity
    order.notional += notional
    order.updated = ts
    order.status = S.FILLED if order.remaining == 0 else S.PARTIALLY_FILLED
    if order.locked:
        release(venue, order, reservation(order))
    balances = venue._balances.setdefault(request.account_id, {})
    sign = request.side.sign
    balances[instrument.base] = balances.get(instrument.base, ZERO) + sign * quantity
    balances[instrument.quote] = balances.get(instrument.quote, ZERO) - sign * notional - fee
    if order.oco is not None:  # a leg's fill, even partial, ends the other at once
        sim_oco.end_others(venue, order, S.EXPIRED, ts)
