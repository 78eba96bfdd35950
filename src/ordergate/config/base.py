"""`Settings`: what every section of the configuration is (frozen, no unknown key,
nothing non-finite)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Settings(BaseModel):
    """Every section: frozen, no unknown key, and no `nan` or `inf` (TOML has them, and
    1e400 reads as inf): a non-finite timeout loads, then overflows `timedelta` after an
    order was already sent. Durations are bounded by `limits.MAX_DURATION_S` (30 days)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
