"""Agreeing with the venue: what a restart does with an order the journal sent and the
venue never heard of (`[recovery]`), and the comparison of the venue's picture with
ours at start and periodically (`[reconciliation]`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field

from ordergate.config.base import Settings
from ordergate.limits import MAX_AMOUNT, MAX_DURATION_S


class RecoverySettings(Settings):
    absent_order_policy: Literal["fail", "resubmit"] = "fail"
    """An order the journal shows as sent but the venue has never heard of (after
    `executor.lookup_attempts` explicit "not found"): mark it FAILED, or send it again
    with the same client order ID."""
    resubmit_max_age_s: float = Field(default=60.0, gt=0, le=MAX_DURATION_S)
    """`resubmit` only resends orders younger than this; older ones fail."""


class ReconciliationSettings(Settings):
    """Comparing the venue's picture with ours, at start and every `interval_s`
    (`reconciliation/`): open orders both ways, and each asset's balance against the sum
    of our positions in it."""

    interval_s: float = Field(default=60.0, ge=0, le=MAX_DURATION_S)
    """How often the live engine reconciles with each venue; 0 turns the periodic check off
    (the check at start still runs)."""
    on_drift: Literal["halt", "reduce", "alert"] = "halt"
    """What drift does to the kill switch: HALTED (nothing leaves), REDUCING (only orders
    that shrink a position), or nothing beyond the audit line, event and metric."""
    accounts: tuple[str, ...] = Field(default=("main",), min_length=1)
    """The account IDs trading on each venue's credentials: their balances are compared and,
    on a cold start, adopted. The first one owns orders adopted from the venue."""
    compare_balances: bool = True
    """Off for an account shared with other traders or systems, whose trades would read as
    drift; open orders are still compared."""
    position_tolerance: Decimal = Field(default=Decimal(0), ge=0, le=MAX_AMOUNT)
    """A balance may differ from our positions by this much (dust) without being drift."""
    cash_currencies: tuple[str, ...] = ("USDT", "USDC", "USD", "BUSD", "FDUSD", "TUSD", "DAI",
                                        "EUR")
    """Balances in these are cash, not positions: never compared with positions, never
    adopted as one."""
    cold_start: Literal["adopt", "ignore"] = "adopt"
    """An empty journal: adopt the venue's open orders and balances as ours, or start flat
    and let reconciliation report whatever the venue holds as drift."""
