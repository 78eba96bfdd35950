"""ccxt's unified structures into ordergate's records, money as `Decimal`.

ccxt hands numbers over as floats, and a float does not carry every decimal: Binance's
"123456789.12345601" comes back from ccxt as 123456789.12345602. So where the venue's own
decimal strings are in ccxt's `info` they are used as they are: a Binance order's
`origQty`, `executedQty`, `cummulativeQuoteQty`, `price` and `status` (`OrderInfoFields`),
a Binance trade's `price`, `qty` and `commission`. ccxt's unified numbers, through
`Decimal(str(x))` and never through float arithmetic, are the fallback when the venue
sent none. The status word lies about partial fills, so `filled`/`remaining` decide the
status; fills themselves always come from the trades.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ordergate.domain.instrument import Instrument
from ordergate.domain.order import OrderStatus
from ordergate.domain.values import Liquidity, OrderType, Side
from ordergate.venues.base import OrderReport, TradeReport, VenueUnavailable

SIDES = {"buy": Side.BUY, "sell": Side.SELL}
ORDER_TYPES = {"market": OrderType.MARKET, "limit": OrderType.LIMIT,
               # ccxt's word for Binance's LIMIT_MAKER: a post-only limit order
               "limit_maker": OrderType.LIMIT,
               # Binance's trigger orders, as older ccxt versions name them (newer ones say
               # market or limit, with a `triggerPrice`): a take-profit triggers the other
               # way, but rests and fills like a stop, which is what following it needs.
               "stop_loss": OrderType.STOP_MARKET, "take_profit": OrderType.STOP_MARKET,
               "stop_loss_limit": OrderType.STOP_LIMIT, "take_profit_limit": OrderType.STOP_LIMIT}
_AS_STOP = {OrderType.MARKET: OrderType.STOP_MARKET, OrderType.LIMIT: OrderType.STOP_LIMIT}


@dataclass(frozen=True, slots=True)
class OrderInfoFields:
    """Where a venue's order answer (ccxt's `info`) holds the exact decimal strings, and
    how its status words read as ccxt's unified ones."""

    amount: str
    filled: str
    cost: str
    price: str
    status: str
    statuses: Mapping[str, str]
    trigger: str = ""
    """A trigger order's stop price ("" where the venue has none)."""


BINANCE_ORDER_FIELDS = OrderInfoFields(
    amount="origQty", filled="executedQty", cost="cummulativeQuoteQty", price="price",
    status="status",
    # Binance's order statuses (enums.md); PENDING_CANCEL is "currently unused".
    statuses={"NEW": "open", "PENDING_NEW": "open", "PARTIALLY_FILLED": "open",
              "FILLED": "closed", "CANCELED": "canceled", "PENDING_CANCEL": "canceling",
              "REJECTED": "rejected", "EXPIRED": "expired", "EXPIRED_IN_MATCH": "expired"},
    trigger="stopPrice",
)


def supports_post_only(features: Mapping[str, Any] | None, market_type: str) -> bool:
    """Does the exchange take ccxt's unified `postOnly` for this market type? ccxt's
    `features` say (`createOrder.timeInForce.PO`: spot under "spot", linear futures under
    "future"/"swap" then "linear"). Where they do not say yes, the flag could be dropped
    on the way and the order fill as taker, so the adapter refuses it instead."""
    create = _create_order_features(features, market_type)
    if create is None:
        return False
    tif = create.get("timeInForce")
    return isinstance(tif, Mapping) and tif.get("PO") is True


def supports_stops(features: Mapping[str, Any] | None, market_type: str) -> bool:
    """Does the exchange take ccxt's unified `triggerPrice` (a native stop order) for this
    market type? ccxt's `features` say (`createOrder.triggerPrice`). Where they do not,
    the parameter could be dropped and the stop go out as an order that executes at once,
    so the adapter refuses it instead."""
    create = _create_order_features(features, market_type)
    return create is not None and create.get("triggerPrice") is True


def _create_order_features(features: Mapping[str, Any] | None,
                           market_type: str) -> Mapping[str, Any] | None:
    features = features or {}
    section = features.get(market_type)
    if market_type != "spot":
        section = ((section or {}).get("linear")
                   or (features.get("swap") or {}).get("linear"))
    if not isinstance(section, Mapping):
        return None
    create = section.get("createOrder")
    return create if isinstance(create, Mapping) else None


def instrument_from_market(venue: str, symbol: str, market: Mapping[str, Any]) -> Instrument | None:
    """A ccxt market's rules; None when it has no step-size precision to round to."""
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    tick = dec_or_none(precision.get("price"))
    lot = dec_or_none(precision.get("amount"))
    if tick is None or lot is None or tick <= 0 or lot <= 0:
        return None
    amount = limits.get("amount") or {}
    cost = limits.get("cost") or {}
    price = limits.get("price") or {}
    return Instrument(
        venue=venue,
        symbol=symbol,
        base=str(market.get("base")),
        quote=str(market.get("quote")),
        tick_size=tick,
        lot_size=lot,
        min_quantity=positive_or_none(amount.get("min")) or lot,
        max_quantity=positive_or_none(amount.get("max")),
        min_notional=positive_or_none(cost.get("min")) or Decimal(0),
        min_price=positive_or_none(price.get("min")),
        max_price=positive_or_none(price.get("max")),
    )


def order_report(raw: Mapping[str, Any], client_order_id: str, symbol: str,
                 now: datetime, fields: OrderInfoFields | None = None) -> OrderReport:
    """One ccxt order as an `OrderReport`. `now` stands in when the venue gives no time;
    `fields` says where the venue's exact strings are in `info` (None: use ccxt's)."""
    exact_ = _venue_numbers(raw, fields)
    amount = exact_.get("amount", dec_or_none(raw.get("amount")))
    filled = exact_.get("filled", dec_or_none(raw.get("filled")) or Decimal(0))
    if "amount" in exact_ and "filled" in exact_:
        remaining: Decimal | None = max(exact_["amount"] - exact_["filled"], Decimal(0))
    else:
        remaining = dec_or_none(raw.get("remaining"))
    if remaining is None:
        remaining = max(amount - filled, Decimal(0)) if amount is not None else Decimal(0)
    cost = exact_.get("cost", dec_or_none(raw.get("cost")))
    average: Decimal | None = None
    if filled > 0:
        average = cost / filled if cost is not None and cost > 0 else dec_or_none(raw.get("average"))
    venue_status = _venue_status(raw, fields)
    status_word = (fields.statuses.get(venue_status) if fields is not None else None) or str(
        raw.get("status") or "")
    status = status_of(status_word, filled)
    venue_id = raw.get("id")
    order_type = ORDER_TYPES.get(str(raw.get("type") or ""))
    trigger = exact_.get("trigger", dec_or_none(raw.get("triggerPrice")))
    if trigger is not None and trigger > 0:  # ccxt: market or limit, with a trigger price
        order_type = _AS_STOP.get(order_type, order_type) if order_type is not None else None
    else:
        trigger = None
    return OrderReport(
        # Ours when we know it: a Binance cancel answer's clientOrderId is the cancel's.
        client_order_id=client_order_id or str(raw.get("clientOrderId") or ""),
        venue_order_id=None if venue_id is None else str(venue_id),
        symbol=str(raw.get("symbol") or symbol),
        status=status,
        filled_quantity=filled,
        remaining_quantity=remaining,
        average_price=average,
        ts=timestamp(raw.get("lastUpdateTimestamp") or raw.get("lastTradeTimestamp")
                     or raw.get("timestamp"), now),
        reason=(venue_status or status_word) if status is OrderStatus.REJECTED else "",
        side=SIDES.get(str(raw.get("side") or "")),
        order_type=order_type,
        price=(exact_.get("price", dec_or_none(raw.get("price")))
               if order_type is not None and order_type.has_limit_price else None),
        trigger_price=trigger if order_type is not None and order_type.is_stop else None,
    )


def _venue_numbers(raw: Mapping[str, Any], fields: OrderInfoFields | None) -> dict[str, Decimal]:
    """The order's numbers the venue sent as decimal strings in `info`: amount, filled,
    cost, price, each present only when sent and usable. Binance: "for some historical
    orders cummulativeQuoteQty will be < 0, meaning the data is not available", so a
    negative value counts as not sent."""
    info = raw.get("info")
    if fields is None or not isinstance(info, Mapping):
        return {}
    found: dict[str, Decimal] = {}
    for name, key in (("amount", fields.amount), ("filled", fields.filled),
                      ("cost", fields.cost), ("price", fields.price),
                      ("trigger", fields.trigger)):
        if not key:
            continue
        value = dec_or_none(info.get(key)) if isinstance(info.get(key), str) else None
        if value is not None and value >= 0:
            found[name] = value
    return found


def _venue_status(raw: Mapping[str, Any], fields: OrderInfoFields | None) -> str:
    info = raw.get("info")
    if fields is None or not isinstance(info, Mapping):
        return ""
    return str(info.get(fields.status) or "")


def trade_report(venue: str, raw: Mapping[str, Any], client_order_id: str,
                 venue_order_id: str, symbol: str, now: datetime) -> TradeReport:
    """One ccxt trade as a `TradeReport`."""
    info = raw.get("info") or {}
    fee = raw.get("fee") or {}
    # The venue's own strings when it gave them (Binance: price, qty, commission) and
    # they say the same as ccxt's floats; ccxt's unified values otherwise.
    price = exact(info.get("price"), raw.get("price"))
    qty = exact(info.get("qty"), raw.get("amount"))
    fee_cost = exact(info.get("commission"), fee.get("cost")) or Decimal(0)
    if price is None or qty is None:
        raise VenueUnavailable(f"{venue}: trade {raw.get('id')} without price or amount")
    side = Side.BUY if raw.get("side") == "buy" else Side.SELL
    liquidity = Liquidity.MAKER if raw.get("takerOrMaker") == "maker" else Liquidity.TAKER
    return TradeReport(
        trade_id=str(raw.get("id")),
        client_order_id=client_order_id,
        venue_order_id=str(venue_order_id),
        symbol=str(raw.get("symbol") or symbol),
        side=side,
        price=price,
        quantity=qty,
        fee=fee_cost,
        fee_currency=str(info.get("commissionAsset") or fee.get("currency") or ""),
        liquidity=liquidity,
        ts=timestamp(raw.get("timestamp"), now),
    )


def timestamp(millis: Any, now: datetime) -> datetime:
    if isinstance(millis, int | float) and millis > 0:
        return datetime.fromtimestamp(millis / 1000, UTC)
    return now


def status_of(word: str, filled: Decimal) -> OrderStatus:
    """ccxt's unified status word; "open" (or anything unknown) is decided by `filled`."""
    if word == "closed":
        return OrderStatus.FILLED
    if word in ("canceled", "cancelled"):
        return OrderStatus.CANCELLED  # even when partially filled
    if word == "expired":
        return OrderStatus.EXPIRED
    if word == "rejected":
        return OrderStatus.REJECTED
    # "open", "canceling" or unknown: still working; the filled quantity says how far.
    return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED


def dec_or_none(value: Any) -> Decimal | None:
    """ccxt number (float, int or numeric string) -> Decimal, via str(), never via float."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def exact(raw_text: Any, unified: Any) -> Decimal | None:
    """The venue's raw decimal string when it agrees with ccxt's unified number, else the
    unified number (as Decimal). Guards against a raw field meaning something else."""
    precise, approx = dec_or_none(raw_text), dec_or_none(unified)
    if precise is None or approx is None:
        return approx if approx is not None else (precise if unified is None else None)
    if abs(precise - approx) <= abs(approx) * Decimal("1e-12"):
        return precise
    return approx


def positive_or_none(value: Any) -> Decimal | None:
    result = dec_or_none(value)
    return result if result is not None and result > 0 else None


def plain(value: Decimal) -> str:
    """A Decimal as a plain string ("0.00001", never "1E-5")."""
    return format(value, "f")


def trade_sort_key(trade_id: str) -> tuple[int, str]:
    return (int(trade_id), "") if trade_id.isdigit() else (0, trade_id)
