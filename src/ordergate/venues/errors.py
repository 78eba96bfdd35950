"""The error taxonomy: every venue failure is one of these.

Each says whether it is worth retrying (`retryable`) and whether the order may have
reached the venue anyway (`ambiguous`). The errors of the optional native replace and
OCO are with those (`native_replace.py`, `native_oco.py`). All of them are importable
from `venues.base` too.
"""

from __future__ import annotations

class VenueError(Exception):
    """Base of every venue failure.

    `retryable`: the same request may succeed later. `ambiguous`: the request may have
    taken effect even though no answer came back; after it, look the order up by client
    order ID before sending anything again."""

    retryable = False
    ambiguous = False


class RetryableVenueError(VenueError):
    retryable = True


class VenueUnavailable(RetryableVenueError):
    """5xx, maintenance, connection refused or dropped before the request was written."""


class VenueTimeout(RetryableVenueError):
    """No answer in time, or the connection dropped mid-request: the outcome is unknown."""

    ambiguous = True


class RateLimited(RetryableVenueError):
    """429/418 or the venue's own throttle. `retry_after` is the venue's wish, in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FatalVenueError(VenueError):
    """Retrying the same request cannot help."""


class NoQuote(VenueError):
    """The venue answered and has no price to give: a side of the book is empty. Not a
    transport failure (it never counts toward opening a circuit) and no price is made up
    in its place; asking again later may well find one."""


class OrderRejected(FatalVenueError):
    """The venue refused the order (filters, tick, lot, notional, post-only, ...)."""


class InsufficientFunds(OrderRejected):
    pass


class PostOnlyWouldTake(OrderRejected):
    """A post-only order that would have taken liquidity at once (a buy at or above the
    best ask, a sell at or below the best bid): the venue refused it instead of filling
    it as taker (Binance -2010 "Order would immediately match and take."). Nothing was
    placed. Final: sending it again at the same price can only be refused again, or,
    after the book moved, fill at a price the strategy did not ask for; the executor
    never resends it."""


class PostOnlyUnsupported(OrderRejected):
    """The adapter's venue has no post-only orders: refused before anything is sent, so
    a post-only intent never goes out as an order that could take."""


class StopWouldTrigger(OrderRejected):
    """A stop order whose trigger the market has already crossed when it arrived: it would
    fire at once, which is a market or limit order now, not the stop that was asked for.
    The venue refused it (Binance -2010 "Stop price would trigger immediately."); nothing
    was placed. Final: the executor never resends it."""


class StopOrdersUnsupported(OrderRejected):
    """The adapter's venue has no native stop orders (Polymarket's CLOB; a ccxt exchange
    whose `features` list no trigger price): refused before anything is sent, so a stop
    never goes out as an order that executes at once."""


class AuthenticationFailed(FatalVenueError):
    pass


class UnknownSymbol(FatalVenueError):
    pass


class OrderNotFound(FatalVenueError):
    """The venue answered, explicitly, that it has no such order.

    Only a venue's answer raises this: a timeout or a 5xx while looking an order up is a
    `RetryableVenueError`, never "not found"."""


class DuplicateClientOrderId(FatalVenueError):
    """The venue already holds an order with this client order ID: resolve it by lookup."""
