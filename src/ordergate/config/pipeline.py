"""The chain's settings: which handlers run and in what order (`[pipeline]`), and each
handler's own section (`[validator]`, `[risk]`, `[executor]`, `[reconciler]`), with the
protective exits (`[brackets]`) and emulated stops (`[stops]`) the chain places."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator

from ordergate.config.base import Settings
from ordergate.domain.values import TradingState
from ordergate.limits import MAX_AMOUNT, MAX_DURATION_S

HANDLER_NAMES = ("validator", "risk", "executor", "reconciler")


MAX_ATTEMPTS = 100
"""Bounds for counts (sends, lookups): beyond it a loop is an outage, not a retry."""
MAX_SCORE = float(MAX_AMOUNT)
MAX_SIGNAL_AGE_S = 1e12


HANDLER_NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "risk": (("validator", ("the venue and instrument it resolves (and its refusal of an "
                            "unknown venue, whose price the risk manager would ask for)")),),
    "executor": (("validator", "the venue and instrument it resolves"),
                 ("risk", ("its sizing (ctx.quantity), the reference price a market order's "
                           "minimum notional is checked against, and the kill switch"))),
    "reconciler": (("executor", "the order it sends (ctx.order) and the venue's report"),),
}
"""What each handler takes from the `SignalContext` that an earlier one fills in."""
HANDLER_FOLLOWERS: dict[str, tuple[str, str]] = {
    "executor": ("reconciler", ("the venue's report (its fills and status) is applied by the "
                                "reconciler, which then follows the order to its end; without "
                                "it, fills are never counted")),
}
"""What must come after a handler for its work to be finished."""


class PipelineSettings(Settings):
    handlers: tuple[str, ...] = HANDLER_NAMES
    """The chain, in order: an order-preserving subsequence of validator, risk, executor,
    reconciler, with what each needs present (`HANDLER_NEEDS`, `HANDLER_FOLLOWERS`). So
    the chains are the full one, ["validator", "risk"] (a dry run: checked and sized,
    nothing sent) and ["validator"]."""

    @field_validator("handlers")
    @classmethod
    def _known_handlers(cls, handlers: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [h for h in handlers if h not in HANDLER_NAMES]
        if unknown:
            raise ValueError(f"unknown handler(s) {unknown}; choose from {list(HANDLER_NAMES)}")
        if len(set(handlers)) != len(handlers):
            raise ValueError("a handler appears twice in the chain")
        if not handlers:
            raise ValueError("the chain is empty: every signal would be admitted unchecked; "
                             "start it with 'validator'")
        for before, after in itertools.pairwise(handlers):
            if HANDLER_NAMES.index(after) < HANDLER_NAMES.index(before):
                raise ValueError(f"{after!r} cannot come after {before!r}: the order is "
                                 f"{', '.join(HANDLER_NAMES)}")
        for handler in handlers:
            for needed, what in HANDLER_NEEDS.get(handler, ()):
                if needed not in handlers:
                    raise ValueError(f"{handler!r} needs {needed!r} before it: {what}")
            follower = HANDLER_FOLLOWERS.get(handler)
            if follower is not None and follower[0] not in handlers:
                raise ValueError(f"{handler!r} needs {follower[0]!r} after it: {follower[1]}")
        return handlers


class ValidatorSettings(Settings):
    min_strength: float = Field(default=0.0, ge=0, le=1)
    """Signals weaker than this are refused (WEAK_SIGNAL)."""
    min_confluence: float = Field(default=0.0, ge=0, le=MAX_SCORE)
    """Signals with a lower confluence score are refused (LOW_CONFLUENCE)."""
    max_signal_age_s: float = Field(default=60.0, gt=0, le=MAX_SIGNAL_AGE_S)
    """A signal older than this when it reaches the engine is stale (STALE_SIGNAL). Only
    compared with a signal's age, never added to the clock, so its bound is what a
    `timedelta` can hold (1e12 s, some 30,000 years: in effect, no limit)."""
    max_clock_skew_s: float = Field(default=5.0, ge=0, le=MAX_DURATION_S)
    """A signal whose `ts` is further ahead of the engine's clock than this is refused
    (FUTURE_SIGNAL): a clock that far off, or a made-up timestamp, would otherwise never
    go stale, and in a replay would drag the simulated clock forward with it."""


class RiskSettings(Settings):
    trading_state: TradingState = TradingState.ACTIVE
    """The kill switch at start: ACTIVE, REDUCING (only orders that shrink a position,
    counting what working orders will already take off) or HALTED (no order leaves).
    Exactly one of those words: "halted" is an error, never ACTIVE."""
    reducing_cancels_orders: bool = True
    """While REDUCING, cancel working orders that would grow or flip a position (every
    working order on a flat symbol, those on the position's own side, and the newest
    reducing ones beyond what is left to reduce), so that no fill can grow a position
    the switch says may only shrink. Off: they are left to fill."""
    risk_per_trade: Decimal = Field(default=Decimal("0.02"), gt=0, le=Decimal("0.05"))
    """Fraction of equity put at risk (entry to stop) when the signal gives no quantity.
    Capped at 5%."""
    default_stop_distance: Decimal = Field(default=Decimal("0.02"), gt=0, le=Decimal("0.02"))
    """Stop placed this fraction from the entry when a signal gives none (2% at most)."""
    max_open_positions: int = Field(default=3, ge=0, le=100_000)
    min_reward_risk: Decimal = Field(default=Decimal("1.5"), ge=0, le=1000)
    """Refuse a signal whose take-profit distance is less than this multiple of its
    stop distance. Signals without a take-profit are not checked."""
    max_order_notional: Decimal = Field(default=Decimal("100000"), gt=0, le=MAX_AMOUNT)
    price_band: Decimal = Field(default=Decimal("0.05"), gt=0, le=1)
    """Fat-finger guard: a limit price further than this fraction from the reference
    price (mid of the latest quote) is refused."""
    equity_currency: str | None = None
    """The balance sized against; default: the instrument's quote currency."""


class ExecutorSettings(Settings):
    max_attempts: int = Field(default=5, ge=1, le=MAX_ATTEMPTS)
    """Sends of one order, including the first, for retryable errors."""
    backoff_base_s: float = Field(default=0.2, gt=0, le=MAX_DURATION_S)
    backoff_cap_s: float = Field(default=5.0, gt=0, le=MAX_DURATION_S)
    submit_deadline_s: float = Field(default=30.0, gt=0, le=MAX_DURATION_S)
    """Total time the executor spends on one order before leaving it to the reconciler."""
    lookup_attempts: int = Field(default=3, ge=1, le=MAX_ATTEMPTS)
    """After an ambiguous send, how many times the venue must say "not found" before the
    order is resent (with the same client order ID)."""
    resend_after_s: float = Field(default=10.0, ge=0, le=MAX_DURATION_S)
    """After an ambiguous send the venue may still execute that request until its request
    window runs out (Binance's recvWindow: 10 s). An order is resent only once this long
    has passed since the send *and* a last lookup still finds nothing."""
    clock_skew_margin_s: float = Field(default=1.0, ge=0, le=MAX_DURATION_S)
    """Added to `resend_after_s`: a venue judges a request's window by its own clock, and
    Binance accepts timestamps up to 1 s ahead of it, so a request can stay executable
    for recvWindow + 1 s after we sent it."""
    jitter_seed: int | None = None
    """Seed of the retry jitter; set it for reproducible backtests with injected faults."""


class BracketSettings(Settings):
    """`[brackets]`: protective exits placed at the venue for a filled entry."""

    protect: bool = False
    """A signal's default for `protect`: with true, every signal with a `stop_loss` or a
    `take_profit` (and no `protect = false` of its own) is entered as a bracket."""
    exits_when_halted: bool = True
    """HALTED sends no entry; exits (reduce-only) are still placed and re-sized for what
    fills, so a position that filled while halting is not left unprotected at the venue.
    False: nothing at all leaves while HALTED, exits included."""
    exit_retry_s: float = Field(default=5.0, gt=0, le=MAX_DURATION_S)
    """An exit that could not be sent (FAILED: no answer until the executor's submit
    deadline, the venue unreachable) is tried again this long after, as a new leg; until
    then a stop-loss holds its take-profit back. One the venue answered with a refusal
    (REJECTED: funds, filters) is not tried again until the open quantity changes."""


class StopSettings(Settings):
    """`[stops]`: emulated stop orders (a venue's `stops`, `pipeline/stop_emulator.py`)."""

    market_protection: Decimal = Field(default=Decimal("0.05"), gt=0, lt=1)
    """A triggered stop_market on a venue without market orders (Polymarket) goes out as
    an IOC limit this fraction beyond its trigger (a sell below, a buy above): it takes
    what the book has down (up) to there, and never fills at any price whatever."""


class ReconcilerSettings(Settings):
    fill_timeout_s: float = Field(default=60.0, gt=0, le=MAX_DURATION_S)
    """How long a working order is followed before the remainder policy applies."""
    poll_interval_s: float = Field(default=1.0, gt=0, le=MAX_DURATION_S)
    remainder_policy: Literal["cancel", "leave"] = "cancel"
    slippage_tolerance: Decimal = Field(default=Decimal("0.01"), ge=0, le=1)
    finished_order_grace_s: float = Field(default=300.0, ge=0, le=MAX_DURATION_S)
    """Finished orders stay in memory this long so late fill reports still find them."""
