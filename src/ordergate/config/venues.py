"""A venue entry (`[venues.NAME]`): what ordergate itself reads of it (its kind, circuit
breaker, rate limit, refreshes, stops), and the settings model of its adapter, which
validates the rest."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ordergate.limits import MAX_DURATION_S
from ordergate.venues.circuit_breaker import BreakerSettings
from ordergate.venues.rate_limiter import RateLimitSettings


class VenueSettings(BaseModel):
    """A venue entry. `kind` picks the adapter; the adapter validates the rest."""

    model_config = ConfigDict(frozen=True, extra="allow", allow_inf_nan=False)
    kind: Literal["simulated", "ccxt", "polymarket"] = "simulated"
    enabled: bool = True
    breaker: BreakerSettings | None = None
    """Circuit breaker (`venues/circuit_breaker.py`): 5 consecutive transport failures open
    it, a trial call after 60 s may close it. Real venues always have one."""
    rate_limit: RateLimitSettings | None = None
    """Token bucket (`venues/rate_limiter.py`); real venues default to 10/s, burst 10."""
    instruments_refresh_s: float = Field(default=3600.0, gt=0, le=MAX_DURATION_S)
    """How often the engine reloads the venue's instruments (tick, lot, minimums), so a
    venue that changes its rules while we run is rounded to the new ones."""
    reference_max_age_s: float = Field(default=0.0, ge=0, le=60)
    """How old the venue's mid may be when a signal takes it as its reference price (sizing,
    notional, the price band): 0, the default, asks the venue for its ticker every signal;
    above 0 the last one fetched is used while it is younger than this. On a real venue
    the ticker is a round trip before each market order leaves; a quarter of a second old
    is as good for most strategies, and a strategy that needs the mid of this instant
    leaves it at 0. Simulated time in a replay, as every age."""
    stops: Literal["native", "emulated", "auto"] = "auto"
    """Stop orders (`pipeline/stop_emulator.py`): `native` sends them to the venue (one
    without native stops refuses them, STOP_ORDERS_UNSUPPORTED); `emulated` has ordergate
    hold them (HELD) and send a market or limit order when its reference price crosses
    the trigger; `auto`, native where the adapter has native stops, emulated elsewhere."""

    def adapter_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def adapter_settings_class(kind: str) -> type[BaseModel]:
    """The settings model of a venue kind; real adapters are imported only when named."""
    if kind == "simulated":
        from ordergate.venues.simulated import SimulatedVenueSettings

        return SimulatedVenueSettings
    if kind == "ccxt":
        from ordergate.venues.ccxt_venue import CcxtVenueSettings

        return CcxtVenueSettings
    from ordergate.venues.polymarket import PolymarketVenueSettings

    return PolymarketVenueSettings
