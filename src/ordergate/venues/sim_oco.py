"""The simulated venue's native one-cancels-the-other lists, as Binance has them.

An OCO (`OcoRequest`) is two legs for the same quantity, one side: a take-profit limit
(post-only: it must rest, as Binance's LIMIT_MAKER) and a stop_market (Binance's
STOP_LOSS). Placing it checks both legs as single orders would be checked (filters, a
take-profit that would take, a stop the touch has already reached: Binance refuses the
whole list then, "The relationship of the prices for the orders is not correct.") and
the funds once, for the list: on spot rules a sell list needs its base quantity free
once, not twice, and only the take-profit locks it (the stop, untriggered, locks nothing
beside it). That is the point of a native OCO on a spot account: two separate exits
would need the base twice, and the second is refused for funds.

Then the legs are ordinary orders (`fetch_order`, `cancel_order`, `fetch_fills` by their
client order IDs), tied together:

- a fill of either leg, even in part, ends the other (EXPIRED) inside the same matching
  step, before the next quote is matched: both can never fill;
- the stop triggering ends the take-profit (EXPIRED) before the stop executes, releasing
  the lock the stop's market order then consumes (Binance: "the Limit Maker leg will be
  canceled BEFORE executing the STOP_LOSS leg");
- cancelling either leg cancels the other (CANCELLED).

The hooks are called from the venue's fills (`sim_fills`) and its cancel for an order
whose `oco` names a list; the rules are here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ordergate.domain.order import OrderStatus
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.venues.base import (
    DuplicateClientOrderId,
    OcoRequest,
    OcoUnsupported,
    OrderRejected,
    OrderReport,
    OrderRequest,
    UnknownSymbol,
    VenueTimeout,
)
from ordergate.venues.faults import Fault
from ordergate.venues.sim_book import RestingBook
from ordergate.venues.sim_funds import check_funds, lock
from ordergate.venues.sim_rules import check_filters

if TYPE_CHECKING:
    from ordergate.venues.simulated import SimulatedVenue, _SimOrder

S = OrderStatus
PRICES_WRONG = "The relationship of the prices for the orders is not correct."
"""Binance's -2010 message for a list whose prices do not straddle the market."""


def leg_requests(request: OcoRequest) -> tuple[OrderRequest, OrderRequest]:
    """The list's two legs as the single orders they become: (take-profit, stop)."""
    take_profit = OrderRequest(
        request.take_profit.client_order_id, request.account_id, request.symbol,
        request.side, OrderType.LIMIT, request.quantity, request.take_profit.price,
        TimeInForce.GTC, post_only=True)
    stop = OrderRequest(
        request.stop.client_order_id, request.account_id, request.symbol, request.side,
        OrderType.STOP_MARKET, request.quantity, None, TimeInForce.GTC,
        trigger_price=request.stop.price)
    return take_profit, stop


def place_oco(venue: SimulatedVenue, request: OcoRequest) -> list[OrderReport]:
    # Here, not at the top: both modules import this one.
    from ordergate.venues.sim_fills import market_price
    from ordergate.venues.simulated import _SimOrder

    fault = venue._fault("place")
    if not venue.supports_oco():
        raise OcoUnsupported(f"{venue.name}: native OCO is off (`native_oco`); not sent")
    if fault is Fault.TIMEOUT_BEFORE_ACCEPT:
        raise VenueTimeout("simulated timeout: request lost before the venue")
    if fault is Fault.REJECT:
        raise OrderRejected("simulated reject")
    instrument = venue._instruments.get(request.symbol)
    if instrument is None:
        raise UnknownSymbol(f"unknown symbol {request.symbol}")
    take_profit, stop = leg_requests(request)
    for leg in (take_profit, stop):
        check_filters(instrument, leg)
    if take_profit.client_order_id == stop.client_order_id:
        raise OrderRejected("the two legs of an OCO need distinct client order IDs")
    for cid in (take_profit.client_order_id, stop.client_order_id):
        existing = venue._by_client.get(cid)
        if existing is not None and not existing.status.is_terminal:
            raise DuplicateClientOrderId(f"client order id {cid} is open")
    legs = venue._oco_lists.get(request.list_client_order_id)
    if legs is not None and any(not leg.status.is_terminal for leg in legs):
        raise DuplicateClientOrderId(f"order list {request.list_client_order_id} is open")
    effective = venue._clock.now() + venue._latency
    quote = venue.market.quote_at(request.symbol, effective)
    if quote is None:
        raise OrderRejected(f"no market for {request.symbol} yet")
    tp_price, trigger = request.take_profit.price, request.stop.price
    # A sell: take-profit above the bid (it must rest), stop below it (not yet reached);
    # a buy: take-profit below the ask, stop above it.
    straddles = (tp_price > quote.bid > trigger if request.side is Side.SELL
                 else tp_price < quote.ask < trigger)
    if not straddles:
        touch = quote.bid if request.side is Side.SELL else quote.ask
        raise OrderRejected(f"{PRICES_WRONG} {request.side} take-profit {tp_price}, stop "
                            f"{trigger}, market {touch}")
    # Funds once, for the list: each leg alone must be affordable; neither needs the other's.
    for leg in (take_profit, stop):
        check_funds(venue, instrument, leg,
                    market_price(instrument, leg.side, quote, venue._s.slippage_bps))
    orders: list[_SimOrder] = []
    for leg in (take_profit, stop):
        venue._seq += 1
        order = _SimOrder(f"{venue.name}-{venue._seq}", leg, effective, updated=effective,
                          oco=request.list_client_order_id)
        venue._orders[order.venue_order_id] = order
        venue._by_client[leg.client_order_id] = order
        venue.orders_per_client_id[leg.client_order_id] = (
            venue.orders_per_client_id.get(leg.client_order_id, 0) + 1)
        orders.append(order)
    tp_order, stop_order = orders
    venue._oco_lists[request.list_client_order_id] = orders
    symbol = request.symbol
    venue._start_cursor(symbol, effective)
    venue._books.setdefault(symbol, RestingBook()).add(tp_order)
    lock(venue, tp_order, instrument)  # the list's one lock
    venue._stops.setdefault(symbol, RestingBook(by_trigger=True)).add(stop_order)
    if fault is Fault.TIMEOUT_AFTER_ACCEPT:
        raise VenueTimeout("simulated timeout: the venue took the list, the reply was lost")
    return [venue._report(tp_order), venue._report(stop_order)]


def end_others(venue: SimulatedVenue, order: _SimOrder, status: OrderStatus,
               ts: datetime | None) -> None:
    """`order`'s list siblings still working end now with `status` (EXPIRED: the other
    leg filled or triggered; CANCELLED: the other leg was cancelled). Out of the book and
    the stops first, their locks released."""
    legs = venue._oco_lists.get(order.oco or "")
    if legs is None:
        return
    for other in legs:
        if other is order or other.status.is_terminal:
            continue
        symbol = other.request.symbol
        for held in (venue._books.get(symbol), venue._stops.get(symbol)):
            if held is not None and held.remove(other):
                break
        other.status, other.updated = status, ts or venue._clock.now()
        venue._finish(other)
    if all(leg.status.is_terminal for leg in legs):  # the list is done: forgotten
        del venue._oco_lists[order.oco or ""]
