"""`OrderPreparer`: a request made into the signed order the venue will get, and the
venue order ID it signs to, before anything is sent.

Apart from the adapter because it is a step of its own with a rule of its own: it only
*reads* from the venue (the tick size, cache bypassed, the neg-risk flag and the fee
rate), never sends, so whatever it refuses (a stop or market order, a post-only FOK/FAK,
a GTD without expiry, a price off the book's range, a size below a lot) is refused with
nothing placed, and a timeout of its reads is not ambiguous. `signing.py` holds the
arithmetic of the signed order; this module decides what may be signed and against
which of the venue's current rules.
"""

from __future__ import annotations

from functools import partial

from py_clob_client.client import ClobClient
from py_clob_client.clob_types import OrderType as ClobOrderType

from ordergate.domain.values import OrderType, TimeInForce
from ordergate.venues.base import (
    OrderRejected,
    OrderRequest,
    StopOrdersUnsupported,
    VenueTimeout,
    VenueUnavailable,
)
from ordergate.venues.polymarket.client import ClobCaller
from ordergate.venues.polymarket.markets import MarketRules
from ordergate.venues.polymarket.reports import Tracked
from ordergate.venues.polymarket.signing import (
    OrderSigner,
    effective_price_and_size,
    expiration_of,
)

_TIF_TO_CLOB: dict[TimeInForce, str] = {
    TimeInForce.GTC: ClobOrderType.GTC,
    TimeInForce.GTD: ClobOrderType.GTD,
    TimeInForce.FOK: ClobOrderType.FOK,
    TimeInForce.IOC: ClobOrderType.FAK,
}


class OrderPreparer:
    """Builds and signs orders for one adapter, against the venue's rules of the moment."""

    def __init__(self, name: str, client: ClobClient, call: ClobCaller, markets: MarketRules,
                 signer: OrderSigner) -> None:
        self.name = name
        self._client = client
        self._call = call
        self._markets = markets
        self._signer = signer

    async def prepare(self, request: OrderRequest) -> Tracked:
        """The signed order `request` makes now, as the record the adapter follows."""
        if request.order_type.is_stop:
            # The CLOB has no trigger orders: refused before anything is signed or sent.
            raise StopOrdersUnsupported(
                f"{self.name}: Polymarket's CLOB has no stop orders ({request.order_type}); "
                "not sent")
        if request.order_type is not OrderType.LIMIT:
            raise OrderRejected(
                f"{self.name}: market orders are not supported; send a marketable limit "
                "order with FOK or IOC"
            )
        clob_type = _TIF_TO_CLOB.get(request.time_in_force)
        if clob_type is None:  # pragma: no cover - every TimeInForce is mapped
            raise OrderRejected(f"{self.name}: unsupported time in force {request.time_in_force}")
        if request.post_only and clob_type not in (ClobOrderType.GTC, ClobOrderType.GTD):
            # py-clob-client raises a bare Exception for it; refuse before anything is sent.
            raise OrderRejected(f"{self.name}: a post-only order is GTC or GTD, not "
                                f"{request.time_in_force}")
        expiration_of(self.name, request)  # refuse a GTD without expiry before any network call
        tick = await self._markets.fresh_tick(request.symbol)
        neg_risk = await self._markets.neg_risk_of(request.symbol)
        fee_rate = int(
            await self._call(
                f"fee rate of {request.symbol}",
                partial(self._client.get_fee_rate_bps, request.symbol),
            )
            or 0
        )
        known = self._markets.instruments.get(request.symbol)
        price, size = effective_price_and_size(
            self.name, request, tick, known.min_quantity if known is not None else None)
        order_id, signed = self._signer.sign(request, price, size, neg_risk, fee_rate)
        return Tracked(
            client_order_id=request.client_order_id,
            venue_order_id=order_id,
            symbol=request.symbol,
            side=request.side,
            quantity=size,
            price=price,
            time_in_force=request.time_in_force,
            body=signed,
            clob_order_type=clob_type,
            post_only=request.post_only,
        )

    async def for_sending(self, request: OrderRequest) -> Tracked:
        """`prepare`, with a timeout of its reads made unambiguous (nothing was sent) and
        the journaled ID held to: an order that would now sign to another ID (the tick,
        fee rate or neg-risk flag changed since it was prepared, before a restart) is
        refused, unsent, rather than sent under an ID the journal does not know."""
        try:
            tracked = await self.prepare(request)
        except VenueTimeout as exc:
            raise VenueUnavailable(f"{exc} (before sending; nothing placed)") from None
        journaled = request.venue_order_id
        if journaled is not None and tracked.venue_order_id != journaled:
            raise OrderRejected(
                f"{self.name}: {request.client_order_id} now signs to {tracked.venue_order_id}, "
                f"not the journaled {journaled} (tick size, fee rate or neg-risk changed "
                "since it was prepared); not sent")
        return tracked
