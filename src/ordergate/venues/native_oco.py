"""Native OCO (optional): a one-cancels-the-other pair of exits sent as one list, for a
venue that has them.

`OcoCapable` is what such an adapter offers and `oco_capable` the way to ask for it;
`OcoRequest` (with its two `OcoLeg`s) is the list. Where a venue has none
(`OcoUnsupported`), a bracket emulates OCO with two separate exits. All of them are
importable from `venues.base` too.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol, runtime_checkable

from ordergate.domain.values import Side
from ordergate.records import record
from ordergate.venues.errors import OrderRejected
from ordergate.venues.reports import OrderReport


class OcoUnsupported(OrderRejected):
    """The adapter's venue has no native one-cancels-the-other list (Polymarket; a ccxt
    exchange other than Binance spot; the simulated venue with `native_oco` off): refused
    before anything is sent. A bracket then emulates OCO with two separate exits."""


@record
class OcoLeg:
    """One order of an OCO list: its own client order ID (derived, like every exit's) and
    its price (the take-profit's limit price, the stop's trigger)."""

    client_order_id: str
    price: Decimal


@record
class OcoRequest:
    """A one-cancels-the-other pair of reduce-only exits, sent as one list, for `quantity`
    each: a take-profit limit (post-only: Binance's LIMIT_MAKER; above the market for a
    sell, below for a buy) and a stop (a stop_market, Binance's STOP_LOSS; below the
    market for a sell, above for a buy). The venue locks the funds once for the list, and
    when either leg fills, even in part, or the stop triggers, it ends the other itself,
    atomically; cancelling either leg cancels both. Prices already rounded to the tick."""

    list_client_order_id: str
    account_id: str
    symbol: str
    side: Side
    quantity: Decimal
    take_profit: OcoLeg
    stop: OcoLeg


@runtime_checkable
class OcoCapable(Protocol):
    """Optional, for an adapter whose venue has native OCO lists. `supports_oco` says
    whether this instance's venue has them (a ccxt adapter has the method whatever its
    exchange; only Binance spot answers yes); `oco_capable` is the way to ask."""

    def supports_oco(self) -> bool: ...

    async def place_oco(self, request: OcoRequest) -> list[OrderReport]:
        """Send both legs as one list. Returns their reports, take-profit first. Raises
        `OcoUnsupported` where `supports_oco` is False, `OrderRejected` when the venue
        refuses the list (neither leg then exists), `VenueTimeout` when the outcome is
        unknown: look each leg up by its client order ID before anything is sent again.
        Each leg is then an ordinary order (`fetch_order`, `cancel_order`, `fetch_fills`
        by its client order ID); cancelling one cancels the other."""
        ...


def oco_capable(venue: object) -> OcoCapable | None:
    """`venue`, if its venue has native OCO lists. Unlike `balance_scoped`, a wrapper is
    not looked through: a list sent to the adapter under it would bypass the wrapper (a
    guard's rate limit and breaker, a test's faults), so a wrapper offers OCO only by
    forwarding it itself (`GuardedVenue` does, under its guards; one that does not hides
    it, and brackets behind it emulate OCO)."""
    if isinstance(venue, OcoCapable) and venue.supports_oco():
        return venue
    return None
