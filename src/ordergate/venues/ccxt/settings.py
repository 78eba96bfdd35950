"""`CcxtVenueSettings`: one ccxt-backed venue as the config file names it.

What the config file validates at load (every key named, unknown keys refused), apart
from the adapter, which is what calls the venue.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ordergate.limits import MAX_DURATION_S


class CcxtVenueSettings(BaseModel):
    """One ccxt-backed venue. Credentials are *names of environment variables*."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(min_length=1)
    kind: Literal["ccxt"] = "ccxt"
    exchange: str = Field(min_length=1, description="ccxt exchange id, e.g. 'binance'")
    sandbox: bool = False
    market_type: Literal["spot", "future"] = "spot"
    api_key_env: str | None = None
    secret_env: str | None = None
    api_url: str | None = Field(
        default=None, description="override the exchange's base URL (scheme://host[:port])")
    timeout_s: float = Field(default=10.0, gt=0, le=MAX_DURATION_S)
    markets_refresh_s: float = Field(default=3600.0, gt=0, le=MAX_DURATION_S)
    account_id: str = "main"
    rules_reload_min_interval_s: float = Field(default=30.0, ge=0, le=MAX_DURATION_S)
    """A venue refusing an order on a filter (tick, lot, minimum quantity or notional) has
    changed that symbol's rules: they are reloaded at once, but at most once per symbol in
    this many seconds (a reload reads every market: Binance weighs exchangeInfo at 20)."""
