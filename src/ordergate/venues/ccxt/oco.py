"""Native OCO on ccxt: Binance spot's `POST /api/v3/orderList/oco`, through ccxt's own
signing and transport (`exchange.privatePostOrderListOco`): ccxt has no unified OCO, but
its binance class exposes the raw endpoint.

A bracket's exits as one list: for a SELL, the take-profit is the above order
(LIMIT_MAKER at `abovePrice`) and the stop the below one (STOP_LOSS at `belowStopPrice`);
for a BUY the other way round. Each leg carries its own client order ID
(`aboveClientOrderId`/`belowClientOrderId`) and the list its own (`listClientOrderId`),
all derived by the caller, so a timeout is resolved the ordinary way: each leg looked up
by its client order ID (`fetch_order`) before anything is sent again. The answer's
`orderReports` are parsed by ccxt's `parse_order` and translated as any order answer.

Only Binance spot has it (`supports_oco`): other exchanges and Binance futures answer
`OcoUnsupported`, unsent, and brackets there emulate OCO with two separate exits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ordergate.domain.values import Side
from ordergate.venues.base import (
    OcoRequest,
    OcoUnsupported,
    OrderRejected,
    OrderReport,
    UnknownSymbol,
    VenueTimeout,
)
from ordergate.venues.ccxt.errors import FilterRejected
from ordergate.venues.ccxt.translation import plain

if TYPE_CHECKING:
    from ordergate.venues.ccxt.adapter import CcxtVenue

OCO_EXCHANGES = frozenset({"binance"})
"""ccxt exchanges whose raw order-list endpoint this module speaks (spot only)."""


def supports_oco(venue: CcxtVenue) -> bool:
    return venue.settings.exchange in OCO_EXCHANGES and venue.settings.market_type == "spot"


def oco_params(request: OcoRequest, market_id: str) -> dict[str, Any]:
    """The request as Binance names it (rest-api.md, "New Order list - OCO")."""
    maker, stop = ("above", "below") if request.side is Side.SELL else ("below", "above")
    return {
        "symbol": market_id,
        "side": request.side.value.upper(),
        "quantity": plain(request.quantity),
        "listClientOrderId": request.list_client_order_id,
        f"{maker}Type": "LIMIT_MAKER",
        f"{maker}Price": plain(request.take_profit.price),
        f"{maker}ClientOrderId": request.take_profit.client_order_id,
        f"{stop}Type": "STOP_LOSS",
        f"{stop}StopPrice": plain(request.stop.price),
        f"{stop}ClientOrderId": request.stop.client_order_id,
        "newOrderRespType": "RESULT",
    }


async def place_oco(venue: CcxtVenue, request: OcoRequest) -> list[OrderReport]:
    if not supports_oco(venue):
        raise OcoUnsupported(
            f"{venue.name}: ccxt's {venue.settings.exchange} {venue.settings.market_type} "
            "has no native OCO here; not sent")
    await venue._ensure_instruments()
    instrument = venue._markets.instruments.get(request.symbol)
    if instrument is None:
        raise UnknownSymbol(f"{venue.name}: unknown symbol {request.symbol!r}")
    for what, price in (("take-profit price", request.take_profit.price),
                        ("stop trigger", request.stop.price)):
        if not instrument.is_on_tick(price):
            # ccxt is not in the way here, but the rule is the adapter's: never re-round.
            raise OrderRejected(f"{venue.name}: {what} {price} is not on tick "
                                f"{instrument.tick_size}")
    exchange = venue._exchange
    market = exchange.market(request.symbol)
    params = oco_params(request, str(market["id"]))
    try:
        raw = await venue._call("place_oco", lambda: exchange.privatePostOrderListOco(params),
                                placing=True)
    except FilterRejected as rejected:
        await venue._markets.reload_after(request.symbol, rejected)
        raise
    reports = raw.get("orderReports") if isinstance(raw, Mapping) else None
    if not isinstance(reports, list) or len(reports) != 2:
        # A 200 whose body could not be read: the list may well exist.
        raise VenueTimeout(
            f"{venue.name} place_oco {request.list_client_order_id}: answer without its two "
            "order reports; outcome unknown, look each leg up by client order ID")
    by_client: dict[str, OrderReport] = {}
    for report in reports:
        parsed = exchange.parse_order(report, market)
        cid = str(report.get("clientOrderId") or "")
        by_client[cid] = venue._order_report(parsed, cid, request.symbol)
    try:
        return [by_client[request.take_profit.client_order_id],
                by_client[request.stop.client_order_id]]
    except KeyError:
        raise VenueTimeout(
            f"{venue.name} place_oco {request.list_client_order_id}: the answer names other "
            f"orders ({sorted(by_client)}); look each leg up by client order ID") from None
