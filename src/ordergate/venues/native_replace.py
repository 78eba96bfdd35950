"""Native replace (optional): an atomic cancel-and-place, for a venue that has one.

`Replaceable` is what such an adapter offers and `replaceable` the way to ask for it; the
errors say which half of a replace happened, `ReplaceReport` holds both halves of one
that worked. Where a venue has none, an amend is an explicit cancel-then-replace. All of
them are importable from `venues.base` too.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ordergate.records import record
from ordergate.venues.errors import FatalVenueError, VenueTimeout
from ordergate.venues.reports import OrderReport, OrderRequest


class ReplaceUnsupported(FatalVenueError):
    """The venue has no atomic replace (Polymarket's CLOB; a ccxt exchange other than
    Binance spot): nothing was sent. An amend there is an explicit cancel-then-replace."""


class ReplaceRefused(FatalVenueError):
    """The replace did nothing: the old order is as it was (still working, or ended on
    its own, filled), and no new order exists. A filter the new order fails is checked
    before the cancel (Binance evaluates filters first), so it lands here too."""


class ReplaceCancelRefused(ReplaceRefused):
    """The venue refused the cancel half, so the new order was not attempted (Binance
    STOP_ON_FAILURE, -2022 with cancelResult FAILURE): the old order had filled in part
    (the cancel was restricted to an unfilled order), filled in full, or is unknown."""


class ReplacePlaceRejected(FatalVenueError):
    """The cancel half worked and the new order was refused (Binance -2021, cancelResult
    SUCCESS, newOrderResult FAILURE): the old order is CANCELLED (`cancelled`, when the
    venue reported it), the new one was never placed."""

    def __init__(self, message: str, cancelled: OrderReport | None = None) -> None:
        super().__init__(message)
        self.cancelled = cancelled


class ReplaceAmbiguous(VenueTimeout):
    """No trustworthy answer to the replace: either half may have happened. Both legs
    must be looked up by client order ID before anything else is sent."""


@record
class ReplaceReport:
    """Both halves of a replace that worked: the old order's final report (CANCELLED,
    nothing filled: a native replace only cancels an order nothing of which has filled)
    and the new order's first."""

    cancelled: OrderReport
    placed: OrderReport


@runtime_checkable
class Replaceable(Protocol):
    """Optional: a venue with an atomic cancel-and-place (Binance spot's
    `order/cancelReplace`, the simulated venue's emulation of it).

    The contract is deliberately narrow, what makes the replacement safe to size from the
    fills we have recorded: the old order is cancelled *only if nothing of it has filled*
    (Binance `cancelRestrictions=ONLY_NEW`), and the new order is attempted only if that
    cancel worked (`STOP_ON_FAILURE`). A fill racing the replace therefore makes the venue
    refuse it (`ReplaceCancelRefused`) instead of leaving the new order on top of a fill
    nobody sized it for. Outcomes: a `ReplaceReport`; `ReplaceRefused` (or any
    non-ambiguous `VenueError`): nothing changed; `ReplacePlaceRejected`: old cancelled,
    new refused; any ambiguous `VenueError` (`ReplaceAmbiguous`): look both up.

    `supports_replace()` is asked first: an adapter class may have the method while its
    venue lacks the feature (ccxt: only Binance spot has it)."""

    def supports_replace(self) -> bool: ...

    async def replace_order(self, old_client_order_id: str, old_venue_order_id: str | None,
                            request: OrderRequest) -> ReplaceReport: ...


def replaceable(venue: object) -> Replaceable | None:
    """`venue`, if it (or what it wraps) can replace natively, else None. A wrapper that
    passes `replace_order` through its own guards (`GuardedVenue`) is returned itself, so
    the replace is metered and breaker-checked like every other call; its
    `supports_replace` asks what it wraps."""
    for _ in range(8):  # a wrapper chain is a few deep; never loop on a cycle
        if isinstance(venue, Replaceable):
            return venue if venue.supports_replace() else None
        venue = getattr(venue, "inner", None)
        if venue is None:
            return None
    return None
