"""Settings of the simulated venue: the instruments it lists, the balances it starts
with, its fees, slippage and latency: apart from `simulated`, so that module holds the
venue's behaviour alone. `simulated` re-exports both models, where the rest of the code
imports them from."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ordergate.limits import MAX_AMOUNT, MAX_DURATION_S

Amount = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT)]
"""A balance, a minimum, a limit: never negative, never beyond `limits.MAX_AMOUNT`."""
Step = Annotated[Decimal, Field(gt=0, le=MAX_AMOUNT)]
Fee = Annotated[Decimal, Field(ge=0, le=Decimal("0.1"))]
"""A fee rate: 0 to 10% (Binance's highest spot tier is 0.1%). A negative rate (a maker
rebate) is refused: the simulated venue does not model rebates."""


class InstrumentSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    symbol: str
    tick_size: Step
    lot_size: Step
    min_quantity: Amount | None = None
    max_quantity: Step | None = None
    min_notional: Amount = Decimal(0)
    min_price: Amount | None = None
    max_price: Step | None = None

    @model_validator(mode="after")
    def _minimum_below_maximum(self) -> InstrumentSpec:
        for low, high in (("min_quantity", "max_quantity"), ("min_price", "max_price")):
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"{low} {lo} is above {high} {hi}")
        return self


class SimulatedVenueSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    name: str = "sim"
    kind: Literal["simulated"] = "simulated"
    enabled: bool = True
    market_data: Path | None = None
    """Quotes CSV. `ordergate replay --market` overrides it."""
    instruments: list[InstrumentSpec] = []
    """Symbols with known rules. A symbol found only in the market data gets an inferred
    instrument: tick = its finest price increment, lot and minimums from below."""
    inferred_lot_size: Step = Decimal("0.0001")
    inferred_min_notional: Amount = Decimal("1")
    balances: dict[str, dict[str, Amount]] = {"main": {"USDT": Decimal("100000")}}
    """Starting balance per account and currency: the equity the risk manager sizes
    against. Never negative: an account cannot start owing."""
    maker_fee: Fee = Decimal("0.0002")
    taker_fee: Fee = Decimal("0.0005")
    slippage_bps: Decimal = Field(default=Decimal("1"), ge=0, le=10_000)
    """Market orders fill this far beyond the touch (basis points; 10,000 is 100%)."""
    ack_latency_ms: float = Field(default=0.0, ge=0, le=MAX_DURATION_S * 1000)
    allow_short: bool = True
    """Let an account sell what it does not hold (a margin account). False: spot rules."""
    history_retention_s: float = Field(default=3_600.0, ge=0, le=MAX_DURATION_S)
    """Finished orders are forgotten after this long (lookups then answer not found)."""
    native_replace: bool = True
    """An amend of an unfilled order is one atomic replace, as on Binance spot
    (`sim_replace.py`); False: the venue has none, and amends are an explicit
    cancel-then-replace. Both paths can so be replayed on the same quotes."""
    native_oco: bool = True
    """One-cancels-the-other lists at the venue (`sim_oco`): a bracket's two exits sent as
    one list, funds locked once, one leg's fill ending the other in the same matching
    step. False: the venue has none (`OcoUnsupported`), and brackets emulate OCO with two
    separate exits, as on a venue without it, so that path runs in replays too."""
