"""The simulated venue's refusals that need only the request, the instrument and the touch
in force on arrival: Binance's filters, a post-only order that would take, a stop that
would trigger at once. Each raises what the real venue's answer is translated into."""

from __future__ import annotations

from ordergate.domain.instrument import Instrument
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.venues.base import OrderRejected, OrderRequest, PostOnlyWouldTake, StopWouldTrigger
from ordergate.venues.market_data import Quote


def check_filters(instrument: Instrument, request: OrderRequest) -> None:
    """The venue's filters, as Binance applies them: lot, minimum quantity, the tick of a
    limit price and of a stop's trigger, notional at the limit price (a stop_market's at
    its trigger, where it will execute); no trigger on anything but a stop, no limit price
    on a stop_market."""
    if not instrument.is_on_lot(request.quantity):
        raise OrderRejected(f"Filter failure: LOT_SIZE ({request.quantity} not a multiple of {instrument.lot_size})")
    if problem := instrument.quantity_problem(request.quantity):
        raise OrderRejected(f"Filter failure: LOT_SIZE ({problem})")
    order_type = request.order_type
    if order_type.is_stop:
        trigger = request.trigger_price
        if trigger is None or not instrument.is_on_tick(trigger):
            raise OrderRejected(f"Filter failure: PRICE_FILTER (stop price {trigger} not "
                                f"on tick {instrument.tick_size})")
        if order_type is OrderType.STOP_MARKET and request.price is not None:
            raise OrderRejected("a stop_market order takes no limit price")
    elif request.trigger_price is not None:
        raise OrderRejected(f"a {order_type} order takes no trigger price")
    if order_type.has_limit_price and (
            request.price is None or not instrument.is_on_tick(request.price)):
        raise OrderRejected(f"Filter failure: PRICE_FILTER ({request.price} not on tick {instrument.tick_size})")
    # Notional at the limit price, or a stop_market's trigger (where it will execute).
    at = request.price if order_type.has_limit_price else request.trigger_price
    if at is not None and (problem := instrument.notional_problem(request.quantity, at)):
        raise OrderRejected(f"Filter failure: NOTIONAL ({problem})")


def check_post_only(request: OrderRequest, quote: Quote) -> None:
    """A post-only order that would take (a buy at or above the ask, a sell at or
    below the bid, in force when it arrives) is refused and never exists, as Binance
    refuses a LIMIT_MAKER (-2010): no order, no fill, nothing locked."""
    if request.order_type is not OrderType.LIMIT or request.time_in_force in (
            TimeInForce.IOC, TimeInForce.FOK):
        raise OrderRejected(f"post-only needs a limit order that can rest, not "
                            f"{request.order_type} {request.time_in_force}")
    assert request.price is not None  # `check_filters` refused a limit without one
    if (quote.ask <= request.price if request.side is Side.BUY
            else quote.bid >= request.price):
        touch = quote.ask if request.side is Side.BUY else quote.bid
        raise PostOnlyWouldTake(
            f"Order would immediately match and take: post-only {request.side} at "
            f"{request.price} against the {'ask' if request.side is Side.BUY else 'bid'} "
            f"{touch}")


def check_trigger(request: OrderRequest, quote: Quote) -> None:
    """A stop whose trigger the touch in force on arrival has reached (a buy stop's ask
    at or above it, a sell stop's bid at or below it) is refused and never exists, as
    Binance refuses one (-2010 "Stop price would trigger immediately.")."""
    trigger = request.trigger_price
    assert trigger is not None  # `check_filters` refused a stop without one
    buying = request.side is Side.BUY
    if quote.ask >= trigger if buying else quote.bid <= trigger:
        raise StopWouldTrigger(
            f"Stop price would trigger immediately: {request.side} stop at {trigger} "
            f"against the {'ask' if buying else 'bid'} {quote.ask if buying else quote.bid}")
