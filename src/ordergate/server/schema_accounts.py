"""The shapes of the accounts' routes, for the OpenAPI document (as `schema.py`): an
account's balances and exposure (`GET /v1/accounts/{id}`), an allocation account's
standing and a group's (`routes_accounts.py`), and a pause or resume."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ordergate.allocation.allocator import AllocationPolicy
from ordergate.server.schema import REASON_PATTERN, Money, _Closed

Status = Literal["active", "paused"]


class AccountStatusRequest(_Closed):
    """Pause or resume an account or a group (`[accounts.NAME]`, `[groups.NAME]`)."""

    status: Status
    reason: str = Field(min_length=1, max_length=500, pattern=REASON_PATTERN,
                        description="for the audit log (`account_status`), with the token's name")
    cancel_working: bool = Field(default=False, description=(
        "pausing only: also cancel the working orders of the accounts it covers"))


class AccountStatusAnswer(_Closed):
    name: str
    kind: Literal["account", "group"]
    status: Status
    previous: Status
    changed: bool
    cancelled: list[str] = Field(description="the client order IDs cancelled")
    by: str = Field(description="the token's name")


class GroupMembership(_Closed):
    group: str
    status: Status


class AccountStanding(_Closed):
    """An allocation account as the allocator would judge it for a block now."""

    account: str
    status: Status
    groups: list[GroupMembership]
    venue: str | None = Field(description="the venue the figures are read at")
    currency: str | None = Field(description="the currency the figures are in")
    day: str = Field(description="the trading day (allocation.day_starts_at_utc_hour)")
    equity: Money | None = Field(description="null: the venue did not answer, or a "
                                 "position has no mark")
    available_margin: Money | None
    min_available_margin: Money
    start_of_day_equity: Money | None
    start_of_day_recorded: bool = Field(description=(
        "false: no block has read the account today; the equity now is shown as the start "
        "the next block would record"))
    day_pnl: Money = Field(description="realized plus marked-to-market, since the day began")
    drawdown: Money | None = Field(description="the day's loss over the start-of-day equity, "
                                   "a fraction (0.043 is 4.3%)")
    max_daily_drawdown: Money
    risk_budget: Money | None = Field(description="the day's risk budget; null: none")
    risk_spent: Money
    budget_left: Money | None
    open_positions: int = Field(description="symbols with a position or a working order")
    max_open_positions: int | None
    eligible: bool = Field(description="for a block that would open a position")
    why: str = Field(description="the first rule that refuses, or the figures that admit")


class GroupView(_Closed):
    group: str
    policy: AllocationPolicy
    status: Status
    ratios: dict[str, Money] | None
    eligible_accounts: int
    accounts: list[AccountStanding] = Field(description="in the group's order")


class GroupSummary(_Closed):
    group: str
    policy: AllocationPolicy
    status: Status
    ratios: dict[str, Money] | None
    eligible_accounts: int
    accounts: list[str]


class Balance(_Closed):
    free: Money
    used: Money
    total: Money


class SymbolExposure(_Closed):
    """Position plus working orders' remaining quantities (`domain/exposure.py`)."""

    symbol: str
    position: Money
    working_buy: Money
    working_sell: Money
    net: Money = Field(description="the position if every working order filled")


class VenueAccount(_Closed):
    balances: dict[str, Balance] | None = Field(
        description="as the venue reports them; null when it could not be read")
    balances_error: Literal["venue_disabled", "not_served", "unavailable"] | None
    exposure: list[SymbolExposure]
    committed: dict[str, Money] = Field(
        description="what working buys may still spend, per quote currency")


class Account(_Closed):
    account: str
    venues: dict[str, VenueAccount]
    allocation: AccountStanding | None = Field(description=(
        "an account of `[accounts]` (a block's): its standing; null for any other"))


class Allocation(_Closed):
    accounts: list[AccountStanding]
    groups: list[GroupSummary]


MODELS: tuple[type[BaseModel], ...] = (AccountStatusRequest, AccountStatusAnswer, GroupView,
                                       Allocation, Account)
