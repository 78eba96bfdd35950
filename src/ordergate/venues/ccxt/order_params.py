"""What a new order is sent as through ccxt: its unified type, its price and its params.

Shared by `place_order` and the native replace (`replace.py`), which sends the new order
exactly as a placement would. Whatever the venue could not take as asked is refused here,
before anything is sent: a price off the tick (ccxt would round it to the *nearest* tick,
so a buy could go up), post-only or a stop where ccxt's features list none (an exchange
that dropped the flag would fill a post-only order as taker), a price on a market order
(ccxt would turn it into a `quoteOrderQty` order).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ordergate.domain.instrument import Instrument
from ordergate.domain.values import OrderType, TimeInForce
from ordergate.venues.base import (
    OrderRejected,
    OrderRequest,
    PostOnlyUnsupported,
    StopOrdersUnsupported,
)
from ordergate.venues.ccxt.translation import plain, supports_post_only

if TYPE_CHECKING:
    from ordergate.venues.ccxt.adapter import CcxtVenue


def order_params(venue: CcxtVenue, request: OrderRequest,
                 instrument: Instrument) -> tuple[str, str | None, dict[str, Any]]:
    """ccxt's unified type, the price and the params of `request`; refuses, unsent, what
    the venue could not take as asked."""
    name, settings = venue.name, venue.settings
    params: dict[str, Any] = {venue._create_id_param: request.client_order_id}
    price: str | None = None
    order_type = request.order_type
    if order_type.is_stop:
        _stop_params(venue, request, instrument, params)
    elif request.trigger_price is not None:
        raise OrderRejected(f"{name}: a {order_type} order takes no trigger price")
    if request.post_only and order_type is not OrderType.LIMIT:
        raise OrderRejected(f"{name}: only a limit order can be post-only")
    if order_type.has_limit_price:
        if request.price is None:
            raise OrderRejected(f"{name}: a {order_type} order needs a price")
        if not instrument.is_on_tick(request.price):
            raise OrderRejected(
                f"{name}: price {request.price} is not on tick {instrument.tick_size}")
        price = plain(request.price)
        # Spot venues have no good-till-date: the order rests as GTC and the engine's
        # reconciler cancels it at `expires_at` (also after a restart, on recovery).
        gtd = request.time_in_force is TimeInForce.GTD
        if request.post_only:
            if not supports_post_only(venue._exchange.features, settings.market_type):
                raise PostOnlyUnsupported(
                    f"{name}: ccxt's {settings.exchange} does not support "
                    f"post-only {settings.market_type} orders; not sent")
            # ccxt's unified flag: on Binance spot the order goes out as LIMIT_MAKER,
            # which takes no timeInForce (it rests until filled or cancelled).
            params["postOnly"] = True
        else:
            params["timeInForce"] = "GTC" if gtd else request.time_in_force.value
    # ccxt's unified types are market and limit; a stop is one of them with a
    # `triggerPrice` (Binance spot: STOP_LOSS, STOP_LOSS_LIMIT).
    unified = "limit" if order_type.has_limit_price else "market"
    # A market order carries no price: ccxt would turn it into a quoteOrderQty order.
    return unified, price, params


def _stop_params(venue: CcxtVenue, request: OrderRequest, instrument: Instrument,
                 params: dict[str, Any]) -> None:
    """A native stop: ccxt's unified `triggerPrice`. On Binance spot ccxt sends it as
    STOP_LOSS (market) or STOP_LOSS_LIMIT with `stopPrice`, which Binance triggers
    for a buy when the last price rises to it and for a sell when it falls to it: the
    stop asked for, as the engine only sends buy stops above the market and sell stops
    below. Refused unsent where ccxt's features list no trigger orders."""
    name, settings = venue.name, venue.settings
    if not venue.native_stop_orders():
        raise StopOrdersUnsupported(
            f"{name}: ccxt's {settings.exchange} does not support stop "
            f"{settings.market_type} orders; not sent")
    trigger = request.trigger_price
    if trigger is None:
        raise OrderRejected(f"{name}: a {request.order_type} order needs a trigger price")
    if not instrument.is_on_tick(trigger):
        # ccxt would round it to the nearest tick (nearer the market): refuse instead.
        raise OrderRejected(
            f"{name}: trigger price {trigger} is not on tick {instrument.tick_size}")
    if request.order_type is OrderType.STOP_MARKET and request.price is not None:
        raise OrderRejected(f"{name}: a stop_market order takes no limit price")
    params["triggerPrice"] = plain(trigger)
