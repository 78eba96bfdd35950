"""Building venue adapters from configuration. Real adapters are imported only when a
configuration names them, so a backtest never pays for importing ccxt."""

from __future__ import annotations

from collections.abc import Callable

from ordergate.clock import Clock
from ordergate.config import VenueSettings
from ordergate.domain.instrument import Instrument
from ordergate.venues.base import VenueAdapter
from ordergate.venues.market_data import MarketData
from ordergate.venues.simulated import SimulatedVenue, SimulatedVenueSettings


def build_venue(name: str, settings: VenueSettings, clock: Clock, *,
                market: MarketData | None = None,
                on_inferred: Callable[[Instrument], None] | None = None) -> VenueAdapter:
    fields = {"name": name, **settings.adapter_fields()}
    if settings.kind == "simulated":
        return SimulatedVenue(SimulatedVenueSettings.model_validate(fields), clock,
                              market=market, on_inferred=on_inferred)
    if settings.kind == "ccxt":
        from ordergate.venues.ccxt_venue import CcxtVenue, CcxtVenueSettings

        return CcxtVenue(CcxtVenueSettings.model_validate(fields), clock)
    from ordergate.venues.polymarket import PolymarketVenue, PolymarketVenueSettings

    return PolymarketVenue(PolymarketVenueSettings.model_validate(fields), clock)
