"""An order's trades through ccxt, every one of them: page after page where the venue
pages (`exchange.TRADE_PAGES`: Binance answers at most 1,000 and, without `fromId`, the
most recent), until a page comes back short. An order whose fills were read from one
page only would lose the rest, and a position built from them would be wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ordergate.venues.base import VenueUnavailable
from ordergate.venues.ccxt.exchange import TRADE_PAGES

if TYPE_CHECKING:
    from ordergate.venues.ccxt.adapter import CcxtVenue


async def order_trades(venue: CcxtVenue, symbol: str, venue_order_id: str) -> list[dict[str, Any]]:
    """Every trade of one order, as ccxt parses them."""
    paging = TRADE_PAGES.get(venue.settings.exchange)
    if paging is None:
        return await _my_trades(venue, symbol, None, {"orderId": venue_order_id})
    param, page_size = paging
    trades: list[dict[str, Any]] = []
    from_id = 0
    while True:
        page = await _my_trades(venue, symbol, page_size,
                                {"orderId": venue_order_id, param: str(from_id)})
        trades += page
        if len(page) < page_size:
            return trades
        ids = [int(str(raw.get("id"))) for raw in page if str(raw.get("id")).isdigit()]
        if not ids or max(ids) < from_id:
            # A full page that does not move forward: the venue ignored `fromId`.
            # Reading on would loop; what we have is not known to be all of it.
            raise VenueUnavailable(
                f"{venue.name} fetch_fills: {param}={from_id} answered a page of "
                f"{len(page)} trades that does not go past it")
        from_id = max(ids) + 1


async def _my_trades(venue: CcxtVenue, symbol: str, limit: int | None,
                     params: dict[str, Any]) -> list[dict[str, Any]]:
    exchange = venue._exchange
    raws = await venue._call("fetch_fills", lambda: exchange.fetch_my_trades(
        symbol, None, limit, params))
    return list(raws)
