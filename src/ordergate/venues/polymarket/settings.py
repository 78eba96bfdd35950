"""The Polymarket adapter's settings and its own two errors."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ordergate.limits import MAX_DURATION_S
from ordergate.venues.base import FatalVenueError, VenueTimeout


class PolymarketVenueSettings(BaseModel):
    """How to reach one Polymarket account. Fields ending in `_env` hold the *names* of
    environment variables, never secrets themselves."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str = "polymarket"
    kind: Literal["polymarket"] = "polymarket"
    host: str = "https://clob.polymarket.com"
    chain_id: int = 137
    private_key_env: str = "POLYMARKET_PRIVATE_KEY"
    api_key_env: str = "POLYMARKET_API_KEY"
    api_secret_env: str = "POLYMARKET_API_SECRET"
    api_passphrase_env: str = "POLYMARKET_API_PASSPHRASE"
    # The address holding the funds (proxy wallet); unset or empty: the signer's address.
    funder_env: str | None = "POLYMARKET_FUNDER"
    # 0 EOA, 1 POLY_PROXY (email/Magic), 2 POLY_GNOSIS_SAFE (browser wallet).
    signature_type: int = Field(default=0, ge=0, le=2)
    timeout_s: float = Field(default=10.0, gt=0, le=MAX_DURATION_S)
    account_id: str = "polymarket"
    # Markets to load, by condition ID. Empty: every active market with an order book.
    condition_ids: tuple[str, ...] = ()
    # Re-read the tick sizes of watched tokens this often (seconds); 0 disables it.
    tick_refresh_s: float = Field(default=60.0, ge=0, le=MAX_DURATION_S)
    max_workers: int = Field(default=8, ge=1, le=256)
    # Seconds a finished order (terminal, its trades final) is kept in memory before it is
    # dropped; later questions about it are answered from the venue by its venue order ID.
    finished_order_grace_s: float = Field(default=300.0, ge=0, le=MAX_DURATION_S)


class VenueOrderIdUnknown(FatalVenueError):
    """This adapter has no venue order ID for the client order ID (e.g. after a restart):
    pass `venue_order_id`, or call `PolymarketVenue.order_id_for(request)` first."""


class PolymarketPlacementTimeout(VenueTimeout):
    """The placement's outcome is unknown; `venue_order_id` is the ID the order has if it
    landed (computed before sending), so it can be looked up directly."""

    def __init__(self, message: str, venue_order_id: str) -> None:
        super().__init__(message)
        self.venue_order_id = venue_order_id
