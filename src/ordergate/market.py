"""`EngineMarket`: the engine's answer to the handlers' `MarketAccess`.

What a handler may ask about the world beyond its signal: venues and whether they are
enabled (and why not), instruments, reference prices (a venue's mid, fetched per signal
unless the venue's `reference_max_age_s` lets its last one serve), equity (cached for a
few seconds: sizing must not cost a venue call per signal), and the per-account exposure view
(positions plus working orders, `domain/exposure.py`). In replay the same object answers
from the simulated venue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from ordergate.clock import Clock
from ordergate.domain.exposure import ExposureView, SymbolExposure
from ordergate.domain.instrument import Instrument
from ordergate.subscribers.positions import PositionTracker
from ordergate.venues.base import VenueAdapter, VenueError


@dataclass(slots=True)
class _CachedEquity:
    value: Decimal | None
    until: datetime


@dataclass(slots=True)
class EngineMarket:
    """The engine's answer to `MarketAccess`: venues, instruments, prices, positions."""

    venues: dict[str, VenueAdapter]
    enabled: dict[str, bool]
    positions: PositionTracker
    exposures: ExposureView
    clock: Clock
    equity_ttl: timedelta = timedelta(seconds=5)
    instruments: dict[str, dict[str, Instrument]] = field(default_factory=dict)
    disabled_reasons: dict[str, str] = field(default_factory=dict)
    _equity: dict[tuple[str, str, str], _CachedEquity] = field(default_factory=dict)
    marks: dict[tuple[str, str], tuple[Decimal, datetime]] = field(default_factory=dict)
    """The last mid seen per (venue, symbol) and when: what the HTTP API values positions
    at (with its age), without a venue call per read: a read must not spend a venue's
    rate limit."""
    reference_max_age: dict[str, timedelta] = field(default_factory=dict)
    """Per venue, how old a mark may be to serve as a reference price (`reference_max_age_s`
    in its config); a venue not named here is asked every time."""

    def venue(self, name: str) -> VenueAdapter | None:
        return self.venues.get(name)

    def venue_enabled(self, name: str) -> bool:
        return self.enabled.get(name, False)

    def venue_disabled_reason(self, name: str) -> str:
        return self.disabled_reasons.get(name, "disabled in config")

    def instrument(self, venue: str, symbol: str) -> Instrument | None:
        return self.instruments.get(venue, {}).get(symbol)

    async def reference_price(self, venue: str, symbol: str) -> Decimal | None:
        """The venue's mid: fetched, or its last mark while younger than the venue's
        `reference_max_age_s` (none by default)."""
        max_age = self.reference_max_age.get(venue)
        if max_age is not None and (mark := self.marks.get((venue, symbol))) is not None \
                and self.clock.now() - mark[1] <= max_age:
            return mark[0]
        try:
            mid = (await self.venues[venue].fetch_ticker(symbol)).mid
        except VenueError:
            return None  # no answer is no reference: the risk manager refuses, audited
            # (NO_REFERENCE_PRICE); an outage is the breaker's and the supervisor's to tell
        if mid is not None:
            self.marks[venue, symbol] = (mid, self.clock.now())
        return mid

    async def equity(self, account_id: str, venue: str, currency: str) -> Decimal | None:
        key, now = (account_id, venue, currency), self.clock.now()
        cached = self._equity.get(key)
        if cached is not None and now < cached.until:
            return cached.value
        try:
            balance = (await self.venues[venue].fetch_balances(account_id)).get(currency)
        except VenueError:
            return None  # unknown equity: sizing is refused (NO_EQUITY), the reason says so
        value = None if balance is None else balance.total
        self._equity[key] = _CachedEquity(value, now + self.equity_ttl)
        return value

    def exposure(self, account_id: str, venue: str, symbol: str) -> SymbolExposure:
        return self.exposures.of(account_id, venue, symbol)

    def open_symbols(self, account_id: str) -> set[tuple[str, str]]:
        return self.exposures.open_symbols(account_id)

    def committed(self, account_id: str, venue: str, currency: str) -> Decimal:
        instruments = self.instruments.get(venue, {})

        def quote_of(symbol: str) -> str | None:
            instrument = instruments.get(symbol)
            return None if instrument is None else instrument.quote

        return self.exposures.committed(account_id, venue, quote_of, currency)
