"""The ccxt adapter's instruments: loaded from the exchange's markets, reloaded when they
are stale or when the venue refuses an order on a rule we do not have, and every change
the adapter finds on its own announced.

Why a refusal reloads: a venue that changes a symbol's tick or lot (Binance does, now and
then) refuses every order rounded to the old rules (`-1013 Filter failure: PRICE_FILTER`)
until they are reloaded; waiting for the scheduled refresh (an hour by default) would
refuse them all that time. A reload reads every market (Binance weighs exchangeInfo at
20), so it happens at most once per symbol per `rules_reload_min_interval_s`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from ordergate.clock import Clock
from ordergate.domain.instrument import Instrument
from ordergate.events import InstrumentRulesChanged
from ordergate.venues.base import VenueError
from ordergate.venues.ccxt.errors import FilterRejected
from ordergate.venues.ccxt.translation import instrument_from_market

log = logging.getLogger("ordergate.venues.ccxt_venue")

LoadMarkets = Callable[[], Awaitable[Mapping[str, Any]]]


class Markets:
    def __init__(self, venue: str, market_type: Literal["spot", "future"], clock: Clock,
                 load_markets: LoadMarkets, emit: Callable[[object], None], *,
                 refresh_s: float, reload_min_interval_s: float) -> None:
        self._venue = venue
        self._market_type = market_type
        self._clock = clock
        self._load_markets = load_markets
        self._emit = emit
        self._refresh = timedelta(seconds=refresh_s)
        self._reload_min_interval = timedelta(seconds=reload_min_interval_s)
        self.instruments: dict[str, Instrument] = {}
        """By ccxt unified symbol, as last loaded. Replaced whole, never mutated."""
        self._loaded_at: datetime | None = None
        self._lock = asyncio.Lock()
        self._reloaded_after_refusal: dict[str, datetime] = {}

    def stale(self) -> bool:
        if self._loaded_at is None:
            return True
        return self._clock.now() - self._loaded_at >= self._refresh

    async def load(self) -> dict[str, Instrument]:
        """Load (or reload) now, for the engine: it compares the rules for itself."""
        async with self._lock:
            return await self._load(None)

    async def ensure(self) -> None:
        """Load if never loaded or older than `refresh_s`; an own reload, so announced."""
        if not self.stale():
            return
        async with self._lock:
            if self.stale():
                await self._load(f"the adapter's reload every {self._refresh.total_seconds():g}s")

    async def reload_after(self, symbol: str, rejected: FilterRejected) -> None:
        """The venue refused an order of `symbol` on a filter: reload the rules now, unless
        this symbol's were reloaded less than `reload_min_interval_s` ago."""
        now = self._clock.now()
        last = self._reloaded_after_refusal.get(symbol)
        if last is not None and now - last < self._reload_min_interval:
            log.info("%s: %s refused on %s again; its rules were reloaded %.0fs ago, not again "
                     "before %.0fs", self._venue, symbol, rejected.filter_name,
                     (now - last).total_seconds(), self._reload_min_interval.total_seconds())
            return
        self._reloaded_after_refusal[symbol] = now
        why = f"{self._venue} refused an order of {symbol}: Filter failure: {rejected.filter_name}"
        try:
            async with self._lock:
                await self._load(why)
        except VenueError as exc:
            # The order's rejection is what the caller must hear; the rules stay as they
            # were and are reloaded on the next such refusal past the interval, or at the
            # scheduled refresh.
            log.warning("%s: reloading the rules after %s failed: %s", self._venue, why, exc)

    async def _load(self, why: str | None) -> dict[str, Instrument]:
        """Read every market. A reload the adapter does on its own (`why`: a refusal, its
        periodic reload) announces each symbol whose rules changed as an
        `InstrumentRulesChanged`, so the engine rounds to the new ones."""
        markets = await self._load_markets()
        instruments: dict[str, Instrument] = {}
        for symbol, market in markets.items():
            if not self._wanted(market):
                continue
            instrument = instrument_from_market(self._venue, symbol, market)
            if instrument is None:
                log.warning("%s: %s has no step-size precision, skipped", self._venue, symbol)
                continue
            instruments[symbol] = instrument
        previous, self.instruments = self.instruments, instruments
        self._loaded_at = self._clock.now()
        log.info("%s: %d instruments loaded", self._venue, len(instruments))
        if why is not None:
            for symbol in sorted(previous.keys() & instruments.keys()):
                if previous[symbol] != instruments[symbol]:
                    self._emit(InstrumentRulesChanged(self._clock.now(), self._venue, symbol,
                                                      previous[symbol], instruments[symbol], why))
        return dict(instruments)

    def _wanted(self, market: Mapping[str, Any]) -> bool:
        if market.get("active") is False:
            return False
        if self._market_type == "spot":
            return bool(market.get("spot"))
        return bool(market.get("contract"))
