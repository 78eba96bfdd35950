"""A venue's state as ordergate sees it: its circuit breaker, its instruments (inferred,
their rules changed), its clock resynchronised, the venue taken out of use."""

from __future__ import annotations

from decimal import Decimal

from ordergate.domain.instrument import Instrument
from ordergate.events.base import Event
from ordergate.records import record


@record
class VenueCircuitChanged(Event):
    """A venue's circuit breaker changed state (CLOSED, OPEN, HALF_OPEN)."""

    venue: str
    from_state: str
    to_state: str
    reason: str


@record
class InstrumentInferred(Event):
    """The simulated venue made up an instrument from market data (said once per symbol)."""

    venue: str
    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    min_notional: Decimal


@record
class VenueDisabled(Event):
    """A venue was taken out of use (its instruments could not be loaded, its credentials
    were refused): its signals are refused with VENUE_DISABLED and this reason."""

    venue: str
    reason: str


@record
class InstrumentRulesChanged(Event):
    """A symbol's trading rules at a venue (tick, lot, minimum quantity and notional, price
    limits) are not the ones we had: orders are rounded to `new` from now on. `why` says
    what found it: a venue refusing an order on a filter, or a scheduled reload."""

    venue: str
    symbol: str
    old: Instrument
    new: Instrument
    why: str


@record
class VenueClockResynced(Event):
    """A venue refused a request's timestamp (Binance -1021: our clock ahead of its own by
    a second or more, or the request older than its recvWindow), so the adapter measured
    the difference again and retried once. `offset_ms` is our clock minus the venue's, as
    measured now (positive: ours is ahead)."""

    venue: str
    offset_ms: int
    reason: str
