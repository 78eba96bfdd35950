"""The `algorithm` block of a signal: how an order is carried out over time.

Explicit and audited on purpose: the schedule is in the signal and in the journal, so an
operator reads exactly what will be sent and when; nothing is randomised to "hide" it.
Only TWAP exists now; an unknown name is a validation error on `algorithm.name`.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from ordergate.limits import MAX_AMOUNT

MAX_DURATION_S = Decimal(7 * 24 * 3600)
"""A week: a schedule longer than that outlives any signal's intent."""
MAX_SLICES = 1000
"""Bounds the journal rows and venue requests one signal can cause."""


class AlgorithmName(StrEnum):
    TWAP = "twap"


class AlgorithmSpec(BaseModel):
    """TWAP: `slices` child orders, evenly spaced over `duration_s` seconds, the first at
    once. With `limit_price_cap`, each slice is a limit IOC at the cap (a buy never pays
    more, a sell never gets less; what is not available within the cap expires with that
    slice); without it, each slice is a market order."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: AlgorithmName
    duration_s: Decimal = Field(gt=0, le=MAX_DURATION_S)
    slices: int = Field(ge=1, le=MAX_SLICES)
    limit_price_cap: Decimal | None = Field(default=None, gt=0, le=MAX_AMOUNT)
