"""`[accounts.NAME]`, `[groups.NAME]` and `[allocation]`: the accounts a block can go to.

A signal whose `account_id` names a group is a block, shared out over the group's
eligible accounts (`allocator.py`). An account's section holds its status and limits;
its credentials stay with its venue (`venues.NAME`, environment variable names as
today): an account on its own exchange key is a venue of its own, named by `venue`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ordergate.allocation.allocator import AllocationPolicy
from ordergate.allocation.eligibility import AccountLimits, AccountStatus
from ordergate.limits import MAX_AMOUNT, MAX_DURATION_S


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class AccountSettings(_Section):
    venue: str | None = None
    """The venue this account trades at; None: the venue the signal names."""
    status: AccountStatus = AccountStatus.ACTIVE
    """`paused`: takes no new child of a block (its working orders are left)."""
    min_available_margin: Decimal = Field(default=Decimal(0), ge=0, le=MAX_AMOUNT)
    """Free balance in the instrument's quote currency below which it takes no child."""
    daily_risk_budget: Decimal | None = Field(default=None, gt=0, le=MAX_AMOUNT)
    """What the day's children may risk (quantity x entry-to-stop distance), in the
    quote currency; None: no budget rule (and no weight for `risk_budget`)."""
    max_daily_drawdown: Decimal = Field(default=Decimal("0.04"), gt=0, le=1)
    """The day's loss (realized plus marked-to-market, since the day began) as a fraction
    of the start-of-day equity beyond which it takes no child."""
    max_open_positions: int | None = Field(default=None, ge=0, le=100_000)
    """Symbols with a position or a working order; None: `risk.max_open_positions` still
    applies to each child, through the chain."""

    def limits(self) -> AccountLimits:
        return AccountLimits(self.min_available_margin, self.daily_risk_budget,
                             self.max_daily_drawdown, self.max_open_positions)


class GroupSettings(_Section):
    accounts: tuple[str, ...] = Field(min_length=1)
    """In order: ties of the split and `failover` go to the account listed first."""
    policy: AllocationPolicy = AllocationPolicy.EQUAL
    ratios: dict[str, Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT)]] | None = None
    """`ratios` only: a weight per account of the group (0 takes no part)."""

    @model_validator(mode="after")
    def _ratios_fit_the_policy(self) -> GroupSettings:
        if len(set(self.accounts)) != len(self.accounts):
            raise ValueError("accounts: an account is listed twice")
        if self.policy is AllocationPolicy.RATIOS:
            ratios = self.ratios or {}
            if set(ratios) != set(self.accounts):
                raise ValueError(f"ratios: give a weight for exactly the group's accounts "
                                 f"{list(self.accounts)}, got {sorted(ratios)}")
            if not any(w > 0 for w in ratios.values()):
                raise ValueError("ratios: one weight at least is more than 0")
        elif self.ratios is not None:
            raise ValueError(f"ratios: only for policy ratios, not {self.policy}")
        return self


class CompletionSettings(_Section):
    max_attempts: int = Field(default=3, ge=0, le=100)
    """Completion orders per block at most; 0: a child's unfilled remainder is left."""
    timeout_s: float = Field(default=30.0, ge=0, le=MAX_DURATION_S)
    """No completion is sent once the block is older than this."""


class AllocationSettings(_Section):
    day_starts_at_utc_hour: int = Field(default=0, ge=0, le=23)
    """When an account's day begins (start-of-day equity, the day's PnL and risk budget
    reset): this hour, UTC. Default midnight UTC."""
    failover_fraction: Decimal = Field(default=Decimal("0.95"), gt=0, le=1)
    """A failed child re-routed to another account goes at this fraction of its quantity
    (rounded down to the lot): the other account was not sized for it."""
    completion: CompletionSettings = CompletionSettings()
    """A child cancelled or expired with part of it unfilled (its fill timeout, an IOC
    without the liquidity) is completed by another order for the rest, on the same
    account, sized from the block's recorded fills and working orders."""
