"""The seam between the engine and a venue.

Every adapter translates its venue's replies into two small records, `OrderReport` and
`TradeReport`, before anything shared is touched, so the engine never reads a venue's
raw JSON. Every failure is one of the errors of `errors.py`, and each says whether it is
worth retrying and whether the order may have reached the venue anyway (`ambiguous`).

Every name of the seam is importable from here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from decimal import Decimal
from typing import Protocol, runtime_checkable

from ordergate.domain.instrument import Instrument
from ordergate.domain.values import Side
from ordergate.records import record
from ordergate.venues.errors import (
    AuthenticationFailed, DuplicateClientOrderId, FatalVenueError, InsufficientFunds, NoQuote,
    OrderNotFound, OrderRejected, PostOnlyUnsupported, PostOnlyWouldTake, RateLimited,
    RetryableVenueError, StopOrdersUnsupported, StopWouldTrigger, UnknownSymbol, VenueError,
    VenueTimeout, VenueUnavailable,
)
from ordergate.venues.native_replace import (
    ReplaceAmbiguous, ReplaceCancelRefused, ReplacePlaceRejected, Replaceable, ReplaceRefused,
    ReplaceReport, ReplaceUnsupported, replaceable,
)
from ordergate.venues.reports import (
    Balance, OrderReport, OrderRequest, Ticker, TradeReport, VenueHealth,
)

__all__ = [
    # the error taxonomy (errors.py)
    "AuthenticationFailed", "DuplicateClientOrderId", "FatalVenueError", "InsufficientFunds",
    "NoQuote", "OrderNotFound", "OrderRejected", "PostOnlyUnsupported", "PostOnlyWouldTake",
    "RateLimited", "RetryableVenueError", "StopOrdersUnsupported", "StopWouldTrigger",
    "UnknownSymbol", "VenueError", "VenueTimeout", "VenueUnavailable",
    # requests and reports (reports.py)
    "Balance", "OrderReport", "OrderRequest", "Ticker", "TradeReport", "VenueHealth",
    # the adapter interface
    "BalanceScoped", "VenueAdapter", "VenueEventSink", "balance_scoped",
    # native replace, optional (native_replace.py)
    "ReplaceAmbiguous", "ReplaceCancelRefused", "ReplacePlaceRejected", "ReplaceRefused",
    "ReplaceReport", "ReplaceUnsupported", "Replaceable", "replaceable",
    # native OCO (optional)
    "OcoCapable", "OcoLeg", "OcoRequest", "OcoUnsupported", "oco_capable",
]

# ---------------------------------------------------------------- the adapter interface

VenueEventSink = Callable[[object], None]
"""Where an adapter hands an event (from `ordergate.events`) it raises on its own, outside
any call's answer: the engine publishes it on the bus, so it is audited and counted."""



@runtime_checkable
class VenueAdapter(Protocol):
    """What every venue provides. All calls may raise the `VenueError`s (`errors.py`)."""

    name: str

    async def load_instruments(self) -> dict[str, Instrument]: ...

    async def prepare_order(self, request: OrderRequest) -> str | None:
        """The venue order ID `request` will have, when the venue's IDs are computable
        before the send (Polymarket: the hash of the signed order); None otherwise (the
        venue assigns one when it takes the order). Called by the executor after the order
        is journaled and before the commit that precedes the send, so the ID is durable
        before anything can reach the venue and a restart can find the order by it.
        Reads only: nothing is sent, so no failure of it is ambiguous."""
        ...

    async def place_order(self, request: OrderRequest) -> OrderReport:
        """Send a new order. Raises `OrderRejected` (and subclasses) when the venue says no,
        `DuplicateClientOrderId` when it already has one with this ID, `VenueTimeout` when
        the outcome is unknown."""
        ...

    async def cancel_order(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> OrderReport:
        """Cancel; returns the order's report after the cancel. Cancelling an order that is
        already terminal returns its (terminal) report rather than raising."""
        ...

    async def fetch_order(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> OrderReport:
        """Raises `OrderNotFound` only when the venue explicitly says it has no such order."""
        ...

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]: ...

    async def fetch_fills(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> list[TradeReport]:
        """Every trade of one order, oldest first."""
        ...

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]: ...

    async def fetch_ticker(self, symbol: str) -> Ticker: ...

    async def health(self) -> VenueHealth: ...

    async def close(self) -> None: ...


@runtime_checkable
class BalanceScoped(Protocol):
    """Optional, for an adapter that reads balances asset by asset and so only for the
    assets it knows of (Polymarket: one request per outcome token, and a market listing
    far too large to read them all). The engine tells it at start which symbols its
    positions are held in, so that a token held from before a restart is read and
    compared, not taken for 0. Adapters whose balance call returns every asset
    (the simulated venue, ccxt) have no need of it."""

    def watch_symbols(self, symbols: Collection[str]) -> None: ...


def balance_scoped(venue: object) -> BalanceScoped | None:
    """`venue`, or the adapter it wraps at any depth (guards and test wrappers keep theirs
    as `inner`), if that is `BalanceScoped`."""
    for _ in range(8):  # a wrapper chain is a few deep; never loop on a cycle
        if isinstance(venue, BalanceScoped):
            return venue
        venue = getattr(venue, "inner", None)
        if venue is None:
            return None
    return None


# ---------------------------------------------------------------- native OCO (optional)


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
