"""Whether the Binance emulator's market (`binance_market.py`) takes a new order: the
checks Binance makes before the order exists, in its order. First its parameters
(`parse_new_order`): those each order type takes and no others (-1102 missing, -1100
malformed, -1106 not required, -1115 timeInForce, -1116 type), the client order ID (36
characters at most), then the filters PRICE_FILTER (price and stopPrice within min/max on
the tick), LOT_SIZE (quantity within min/max on the step) and NOTIONAL (quantity times the
price, the stopPrice or, for a market order, the best opposite price), each a -1013. Then
the account's refusals (`refuse_new_order`), each a -2010: "Duplicate order sent." while
an order with that client order ID is open, insufficient balance, "Order would
immediately match and take." for a LIMIT_MAKER, "Stop price would trigger immediately.".
Apart from the market so that what Binance refuses is read apart from what an order it
takes then does (`cancelReplace` checks the parameters before its cancel:
`BinanceMarket.check_new_order`); every endpoint reads its parameters with `required` and
`decimal_param`."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, NamedTuple

from ordergate.testing.binance_records import (
    LIMIT_TYPES,
    PRICED_TYPES,
    ZERO,
    BinanceApiError,
    Book,
    SymbolSpec,
)
from ordergate.testing.binance_stops import STOP_LIMIT_TYPES, STOP_TYPES, is_triggered

if TYPE_CHECKING:
    from ordergate.testing.binance_market import BinanceMarket


class NewOrder(NamedTuple):
    """A new order's parameters, read and checked against the filters."""

    symbol: str
    spec: SymbolSpec
    side: str
    otype: str
    qty: Decimal
    tif: str
    price: Decimal
    stop_price: Decimal
    cid: str
    book: Book
    order_id: int


def parse_new_order(market: BinanceMarket, params: Mapping[str, str]) -> NewOrder:
    """A new order's parameters, read and checked in Binance's order. Raises
    `BinanceApiError`; changes nothing."""
    symbol = required(params, "symbol")
    spec = market.spec(symbol)
    side = required(params, "side").upper()
    otype = required(params, "type").upper()
    if side not in ("BUY", "SELL"):
        raise BinanceApiError(400, -1100, "Illegal characters found in parameter 'side'.")
    if otype not in ("MARKET", *LIMIT_TYPES, *STOP_TYPES):
        raise BinanceApiError(400, -1116, "Invalid orderType.")
    if "quoteOrderQty" in params:
        raise BinanceApiError(400, -1128, "quoteOrderQty is not supported by this emulator.")
    qty = decimal_param(params, "quantity")
    tif = ""
    price = stop_price = ZERO
    if otype in STOP_TYPES:
        stop_price = decimal_param(params, "stopPrice")
    elif "stopPrice" in params:
        raise BinanceApiError(400, -1106, "Parameter 'stopPrice' sent when not required.")
    if otype in ("LIMIT", *STOP_LIMIT_TYPES):
        tif = required(params, "timeInForce").upper()
        if tif not in ("GTC", "IOC", "FOK"):
            raise BinanceApiError(400, -1115, "Invalid timeInForce.")
        price = decimal_param(params, "price")
    elif otype == "LIMIT_MAKER":
        # A LIMIT order that is rejected if it would trade as taker; it has no
        # timeInForce (it rests until filled or cancelled).
        if "timeInForce" in params:
            raise BinanceApiError(400, -1106, "Parameter 'timeInForce' sent when not required.")
        price = decimal_param(params, "price")
    elif "price" in params or "timeInForce" in params:
        raise BinanceApiError(400, -1106, "Parameter 'price' sent when not required.")
    order_id = market._last_order_id.get(symbol, 0) + 1
    cid = params.get("newClientOrderId") or f"emu-{symbol}-{order_id}"
    if len(cid) > 36:
        raise BinanceApiError(400, -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_.]{1,36}$'.")

    # Filters, in Binance's order.
    def off_filter(value: Decimal) -> bool:
        return (value < spec.min_price or value > spec.max_price
                or (value - spec.min_price) % spec.tick_size != 0)

    if otype in PRICED_TYPES and off_filter(price):
        raise BinanceApiError(400, -1013, "Filter failure: PRICE_FILTER")
    if otype in STOP_TYPES and off_filter(stop_price):
        raise BinanceApiError(400, -1013, "Filter failure: PRICE_FILTER")
    if qty < spec.min_qty or qty > spec.max_qty or (qty - spec.min_qty) % spec.step_size != 0:
        raise BinanceApiError(400, -1013, "Filter failure: LOT_SIZE")
    book = market.books[symbol]
    reference = (price if otype in PRICED_TYPES else stop_price if otype in STOP_TYPES
                 else _reference_price(book, side))
    if reference is not None and qty * reference < spec.min_notional:
        raise BinanceApiError(400, -1013, "Filter failure: NOTIONAL")
    return NewOrder(symbol, spec, side, otype, qty, tif, price, stop_price, cid, book,
                     order_id)


def refuse_new_order(market: BinanceMarket, new: NewOrder) -> None:
    """What Binance refuses a well-formed order for, before it exists (-2010): the client
    order ID of one of the account's open orders, funds the account lacks, a LIMIT_MAKER
    that would take, a stop its stopPrice would trigger at once."""
    symbol, spec, side, otype, qty = new.symbol, new.spec, new.side, new.otype, new.qty
    price, stop_price, cid, book = new.price, new.stop_price, new.cid, new.book
    # A reused client order ID is refused only while the first order is still open.
    if any(o.client_order_id == cid and o.is_open for o in market.own_orders()):
        raise BinanceApiError(400, -2010, "Duplicate order sent.")

    # Balance check: what the order can consume.
    if side == "BUY":
        need = (qty * price if otype in PRICED_TYPES else qty * stop_price
                if otype in STOP_TYPES else _market_buy_cost(book, qty))
        if market.free.get(spec.quote, ZERO) < need:
            raise BinanceApiError(400, -2010, "Account has insufficient balance for requested action.")
    else:
        need = qty
        if market.free.get(spec.base, ZERO) < need:
            raise BinanceApiError(400, -2010, "Account has insufficient balance for requested action.")
    if otype == "LIMIT_MAKER" and _would_take(book, side, price):
        # Refused whole, before any order exists: nothing is placed, locked or filled.
        raise BinanceApiError(400, -2010, "Order would immediately match and take.")
    last = market.last_price(symbol)
    if otype in STOP_TYPES and last is not None and is_triggered(otype, side, stop_price, last):
        # Refused whole: a stop that fired on arrival would be another order.
        raise BinanceApiError(400, -2010, "Stop price would trigger immediately.")


def required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise BinanceApiError(
            400, -1102,
            f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
    return value


def decimal_param(params: Mapping[str, str], name: str) -> Decimal:
    text = required(params, name)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BinanceApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'.") from None
    if not value.is_finite() or value < 0:
        raise BinanceApiError(400, -1100, f"Illegal characters found in parameter '{name}'.")
    return value


def _reference_price(book: Book, side: str) -> Decimal | None:
    """The price a market order's notional is checked at: the best opposite price."""
    levels = book.asks if side == "BUY" else book.bids
    return levels[0][0] if levels else None


def _would_take(book: Book, side: str, price: Decimal) -> bool:
    """A buy at or above the best ask, a sell at or below the best bid: it would match at
    once, as taker."""
    if side == "BUY":
        return bool(book.asks) and book.asks[0][0] <= price
    return bool(book.bids) and book.bids[0][0] >= price


def _market_buy_cost(book: Book, qty: Decimal) -> Decimal:
    cost, left = ZERO, qty
    for price, size in book.asks:
        take = min(left, size)
        cost += take * price
        left -= take
        if left <= 0:
            break
    return cost
