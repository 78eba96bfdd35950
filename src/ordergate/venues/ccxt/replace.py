"""Native replace on Binance spot: `POST /api/v3/order/cancelReplace` through ccxt's
`edit_order` (ccxt's binance `edit_spot_order`), for `base.Replaceable`.

Only there. On most exchanges ccxt's `edit_order` is an emulation, a cancel and then a
create in two requests, with nothing to stop the first working and the second failing
(or the order filling in between): never called blind. Other ccxt venues are not
`Replaceable`, and an amend there is the engine's explicit cancel-then-replace.

What is sent, besides the new order as `place_order` would send it (`newClientOrderId`
our derived ID, the same type, price and time in force):
- `cancelOrigClientOrderId` (and `cancelOrderId` when known), so ccxt does not use the
  venue ID it is given as the order to cancel, and Binance checks the two agree;
- `cancelReplaceMode=STOP_ON_FAILURE`: no new order if the cancel fails;
- `cancelRestrictions=ONLY_NEW`: the cancel succeeds only while *nothing* of the old
  order has filled. The engine sizes the replacement from the fills it has recorded and
  asks for a native replace only when there are none; a fill that reaches the matching
  engine first then makes Binance refuse the cancel (and so the whole replace) instead of
  leaving a replacement sized as if that fill had not happened. An order with fills is
  amended by the explicit path, which sizes the replacement after its cancel is
  confirmed (`ONLY_PARTIALLY_FILLED` would not help: a second partial fill racing the
  replace leaves the order PARTIALLY_FILLED and the cancel would go through).

Binance's answers, and what they become:
- 200: a `ReplaceReport`; ccxt returns only the new order, and the old one is known to
  be CANCELLED with nothing filled (ONLY_NEW);
- 409 -2021 with cancelResult SUCCESS: `ReplacePlaceRejected` (old cancelled, its report
  from `cancelResponse`; the new order's refusal in the message);
- 400 -2022 (cancel failed, new order NOT_ATTEMPTED): `ReplaceCancelRefused`;
- a plain error (a filter, -1013, is checked before anything happens): `ReplaceRefused`;
- a timeout, a dropped connection, a 5xx, an answer that cannot be read:
  `ReplaceAmbiguous` (ccxt reports -2021/-2022 as a bare `ExchangeError`, in places as
  `BadResponse`, which alone would look like an unreadable answer: the body is read first).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ccxt.base import errors as ccxt_errors

from ordergate.domain.order import OrderStatus
from ordergate.venues.base import (
    OrderRejected,
    OrderReport,
    OrderRequest,
    ReplaceAmbiguous,
    ReplaceCancelRefused,
    ReplacePlaceRejected,
    ReplaceRefused,
    ReplaceReport,
    ReplaceUnsupported,
    VenueError,
)
from ordergate.venues.ccxt.errors import FilterRejected, venue_error_body
from ordergate.venues.ccxt.order_params import order_params
from ordergate.venues.ccxt.translation import plain

if TYPE_CHECKING:
    from ordergate.venues.ccxt.adapter import CcxtVenue

NATIVE_REPLACE = frozenset({("binance", "spot")})
"""(ccxt exchange id, market type) pairs whose `edit_order` is one atomic request."""


def supports_native_replace(exchange: str, market_type: str) -> bool:
    return (exchange, market_type) in NATIVE_REPLACE


async def replace_order(venue: CcxtVenue, old_client_order_id: str,
                        old_venue_order_id: str | None, request: OrderRequest) -> ReplaceReport:
    if not venue.supports_replace():
        raise ReplaceUnsupported(f"{venue.name}: ccxt's {venue.settings.exchange} "
                                 f"{venue.settings.market_type} has no atomic replace")
    await venue._ensure_instruments()
    instrument = venue._markets.instruments.get(request.symbol)
    if instrument is None:
        raise ReplaceRefused(f"{venue.name}: unknown symbol {request.symbol!r}; nothing sent")
    try:
        unified, price, params = order_params(venue, request, instrument)
    except OrderRejected as exc:
        raise ReplaceRefused(f"{exc}; nothing sent") from None
    params |= {"cancelOrigClientOrderId": old_client_order_id,
               "cancelReplaceMode": "STOP_ON_FAILURE", "cancelRestrictions": "ONLY_NEW"}
    if old_venue_order_id is not None:
        params["cancelOrderId"] = old_venue_order_id
    exchange = venue._exchange

    async def send() -> Any:
        try:
            return await exchange.edit_order(
                old_venue_order_id or old_client_order_id, request.symbol, unified,
                request.side.value, plain(request.quantity), price, params)
        except ccxt_errors.BaseError as exc:
            outcome = _cancel_replace_failure(venue, exc, old_client_order_id,
                                              old_venue_order_id, request.symbol)
            if outcome is None:
                raise
        raise outcome  # built in the handler, raised outside it: no ccxt exception attached

    try:
        raw = await venue._call("replace_order", send, placing=True,
                                post_only=request.post_only, stop=request.order_type.is_stop)
    except (ReplaceCancelRefused, ReplacePlaceRejected):
        raise
    except FilterRejected as rejected:
        await venue._markets.reload_after(request.symbol, rejected)
        raise ReplaceRefused(f"{rejected}; nothing was cancelled") from None
    except VenueError as exc:
        if exc.ambiguous:
            raise ReplaceAmbiguous(f"{exc}; look both orders up") from None
        if exc.retryable:
            raise  # not processed (rate limited, refused timestamp): nothing changed
        raise ReplaceRefused(f"{exc}; nothing was cancelled") from None
    if not isinstance(raw, Mapping) or raw.get("id") is None:
        raise ReplaceAmbiguous(f"{venue.name} replace_order {request.client_order_id}: answer "
                               "without an order id; look both orders up")
    placed = venue._order_report(raw, request.client_order_id, request.symbol)
    cancelled = OrderReport(old_client_order_id, old_venue_order_id, request.symbol,
                            OrderStatus.CANCELLED, Decimal(0), Decimal(0), None, placed.ts,
                            reason="cancelled by cancelReplace (ONLY_NEW: nothing had filled)")
    return ReplaceReport(cancelled, placed)


def _cancel_replace_failure(venue: CcxtVenue, exc: BaseException, old_client_order_id: str,
                            old_venue_order_id: str | None, symbol: str) -> VenueError | None:
    """Binance's -2021 / -2022 body as our outcome; None for any other error (mapped as
    every ccxt error is, `errors.py`)."""
    body = venue_error_body(exc)
    if body is None or str(body.get("code")) not in ("-2021", "-2022"):
        return None
    data = body.get("data") if isinstance(body.get("data"), Mapping) else {}
    assert isinstance(data, Mapping)
    cancel, new = data.get("cancelResponse"), data.get("newOrderResponse")
    what = venue._redact(f"{venue.name} replace_order: {body.get('code')} {body.get('msg')}: "
                         f"cancel {_said(cancel)}; new order {_said(new)}")
    if data.get("cancelResult") == "SUCCESS" and data.get("newOrderResult") == "FAILURE":
        report = None
        if isinstance(cancel, Mapping) and cancel.get("orderId") is not None:
            market = venue._exchange.market(symbol)
            report = venue._order_report(venue._exchange.parse_order(dict(cancel), market),
                                         old_client_order_id, symbol)
        return ReplacePlaceRejected(f"{what}; the old order is cancelled, the new one refused",
                                    report)
    if data.get("cancelResult") == "FAILURE" and data.get("newOrderResult") != "SUCCESS":
        return ReplaceCancelRefused(f"{what}; nothing changed")
    # The cancel failed and a new order was placed: not what STOP_ON_FAILURE allows, so
    # not trusted either way: both orders are to be looked up.
    return ReplaceAmbiguous(f"{what}; unexpected outcome, look both orders up")


def _said(part: object) -> str:
    if isinstance(part, Mapping):
        if "code" in part:
            return f"{part.get('code')} {part.get('msg')}"
        return str(part.get("status") or "ok")
    return "not attempted"
