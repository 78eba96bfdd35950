"""The seam between the engine and a venue: the adapter interface every venue provides.

Every adapter translates its venue's replies into two small records, `OrderReport` and
`TradeReport` (`reports.py`), before anything shared is touched, so the engine never
reads a venue's raw JSON. Every failure is one of the errors of `errors.py`, and each
says whether it is worth retrying and whether the order may have reached the venue anyway
(`ambiguous`). What only some venues have natively is in `native_replace.py` and
`native_oco.py`.

Every name of the seam is re-exported here (the very same objects), so an adapter, or
the engine, imports them all from `venues.base`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Protocol, runtime_checkable

from ordergate.domain.instrument import Instrument
from ordergate.venues.errors import (
    AuthenticationFailed, DuplicateClientOrderId, FatalVenueError, InsufficientFunds, NoQuote,
    OrderNotFound, OrderRejected, PostOnlyUnsupported, PostOnlyWouldTake, RateLimited,
    RetryableVenueError, StopOrdersUnsupported, StopWouldTrigger, UnknownSymbol, VenueError,
    VenueTimeout, VenueUnavailable,
)
from ordergate.venues.native_oco import (
    OcoCapable, OcoLeg, OcoRequest, OcoUnsupported, oco_capable,
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
    # native OCO, optional (native_oco.py)
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
