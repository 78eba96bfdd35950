"""Which accounts of a group may take a block, and why not, in words an operator reads.

Each rule compares one figure of the account's standing (what the engine knows of it now)
with one of its limits (config), and a refusal names both: `margin 812 < 1000`,
`drawdown 4.30% > 4.00%`. The rules run in a fixed order and the first that refuses is
the reason given, so the same standing always gives the same words.

- paused: an operator (or config) paused it: no new children, whatever else holds;
- available margin below `min_available_margin`;
- the day's drawdown (realized plus marked-to-market PnL since the day began, against the
  start-of-day equity) beyond `max_daily_drawdown`;
- the day's risk budget spent (`daily_risk_budget` less what the day's orders risked);
- `max_open_positions` reached, counting working orders (a resting order opens a position
  when it fills), for a block that would open one on this account (a block that reduces
  a position the account holds is never refused for it: taking risk off stays possible).
An unknown figure (the venue did not answer, no start-of-day equity yet) is not guessed
at: the account is not eligible, and the reason says which figure is missing.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from ordergate.records import record


class AccountStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


@record
class AccountLimits:
    min_available_margin: Decimal = Decimal(0)
    daily_risk_budget: Decimal | None = None
    """In the quote currency; None: no budget rule."""
    max_daily_drawdown: Decimal = Decimal("0.04")
    max_open_positions: int | None = None


@record
class Standing:
    """What the engine knows of an account when a block arrives."""

    status: AccountStatus
    available_margin: Decimal | None
    equity: Decimal | None
    start_of_day_equity: Decimal | None
    day_pnl: Decimal
    """Realized plus marked-to-market, since the day began."""
    risk_spent: Decimal
    """What the day's orders risked, in the quote currency."""
    open_positions: int
    """Symbols with a position or a working order."""
    holds_symbol: bool = False
    """A position or a working order in the block's symbol already (no new position)."""

    def budget_left(self, limits: AccountLimits) -> Decimal | None:
        if limits.daily_risk_budget is None:
            return None
        return max(limits.daily_risk_budget - self.risk_spent, Decimal(0))

    def drawdown(self) -> Decimal | None:
        if self.start_of_day_equity is None or self.start_of_day_equity <= 0:
            return None
        return max(-self.day_pnl, Decimal(0)) / self.start_of_day_equity


@record
class Eligibility:
    account: str
    eligible: bool
    refusal: str | None = None
    """Why not eligible; None when eligible."""
    margin: Decimal | None = None
    drawdown: Decimal | None = None
    budget_left: Decimal | None = None

    @property
    def why(self) -> str:
        """The refusal, or the figures that admitted it. Made when read (the audit line),
        not per account per block: formatting is most of what judging costs."""
        if self.refusal is not None:
            return self.refusal
        figures = [] if self.margin is None else [f"margin {self.margin}"]
        figures.append(f"drawdown {self.drawdown or 0:.2%}")
        if self.budget_left is not None:
            figures.append(f"budget left {self.budget_left}")
        return ", ".join(figures)


def judge(account: str, limits: AccountLimits, standing: Standing) -> Eligibility:
    """The first rule that refuses, or eligible (with the figures that admitted it)."""
    def no(why: str) -> Eligibility:
        return Eligibility(account, False, why)

    if standing.status is AccountStatus.PAUSED:
        return no("paused")
    margin = standing.available_margin
    if limits.min_available_margin > 0:
        if margin is None:
            return no("available margin unknown (the venue has not answered)")
        if margin < limits.min_available_margin:
            return no(f"margin {margin} < {limits.min_available_margin}")
    if standing.equity is None:
        return no("equity unknown (the venue has not answered, or a position has no mark)")
    drawdown = standing.drawdown()
    if drawdown is None:
        return no("no start-of-day equity to measure the day's drawdown against")
    if drawdown > limits.max_daily_drawdown:
        return no(f"drawdown {drawdown:.2%} > {limits.max_daily_drawdown:.2%}")
    left = standing.budget_left(limits)
    if left is not None and left <= 0:
        return no(f"budget spent ({standing.risk_spent} of {limits.daily_risk_budget})")
    cap = limits.max_open_positions
    if cap is not None and not standing.holds_symbol and standing.open_positions >= cap:
        return no(f"{standing.open_positions} positions open (limit {cap})")
    return Eligibility(account, True, None, margin, drawdown, left)
