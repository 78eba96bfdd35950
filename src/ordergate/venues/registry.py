"""Building venue adapters from configuration. Real adapters are imported only when a
configuration names them, so a backtest never pays for importing ccxt."""

from __future__ import annotations

from collections.abc import Callable

from ordergate.clock import Clock
from ordergate.config import VenueSettings, adapter_settings_class
from ordergate.domain.instrument import Instrument
from ordergate.venues.base import VenueAdapter, VenueEventSink
from ordergate.venues.market_data import MarketData
from ordergate.venues.simulated import SimulatedVenue, SimulatedVenueSettings


def build_venue(name: str, settings: VenueSettings, clock: Clock, *,
                market: MarketData | None = None,
                on_inferred: Callable[[Instrument], None] | None = None,
                on_event: VenueEventSink | None = None) -> VenueAdapter:
    """`on_event` receives what an adapter has to tell the operator on its own (a clock
    resynchronised, rules reloaded): the engine publishes it on the bus, so it is audited."""
    parsed = adapter_settings_class(settings.kind).model_validate(
        {"name": name, **settings.adapter_fields()})
    if isinstance(parsed, SimulatedVenueSettings):
        return SimulatedVenue(parsed, clock, market=market, on_inferred=on_inferred)
    if settings.kind == "ccxt":
        from ordergate.venues.ccxt_venue import CcxtVenue

        return CcxtVenue(parsed, clock, on_event=on_event)  # type: ignore[arg-type]
    from ordergate.venues.polymarket import PolymarketVenue

    return PolymarketVenue(parsed, clock, on_event=on_event)  # type: ignore[arg-type]
