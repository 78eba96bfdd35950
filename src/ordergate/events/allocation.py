"""A block (a signal naming a group) shared over its accounts (`allocation/`): the
decision, a child re-routed or completed, a child about to go through the chain, and an
account or group paused or resumed."""

from __future__ import annotations

from decimal import Decimal

from ordergate.domain.signal import TradingSignalGenerated
from ordergate.events.base import Event
from ordergate.records import record


@record
class AllocationDecided(Event):
    """A block (a signal whose `account_id` names a group) was shared out, or refused:
    `reason` names every account of the group with eligible or not and why, the policy
    and each child's quantity (`allocation.allocator.Allocation.describe`)."""

    signal_id: str
    parent_id: str
    group: str
    policy: str
    quantity: Decimal | None
    children: tuple[tuple[str, Decimal | None], ...]
    """(account, quantity) per child; None: sized by risk for that account."""
    code: str | None
    reason: str


@record
class AllocationFailover(Event):
    """A block's child failed where another account could succeed (funds, its venue):
    re-routed to `to_account` for `quantity` (None: sized by its own risk), or, with
    `to_account` None, not re-routed, and `reason` says why."""

    signal_id: str
    parent_id: str
    from_account: str
    to_account: str | None
    quantity: Decimal | None
    reason: str


@record
class AccountStatusChanged(Event):
    """An account or a group (`kind`) was paused or resumed, by an operator (`by`) or at
    start; `cancelled` names the working orders cancelled with the pause."""

    name: str
    kind: str
    status: str
    reason: str
    by: str
    cancelled: tuple[str, ...]


@record
class AllocationCompletion(Event):
    """A block's child ended (cancelled, expired) with part unfilled: completion order
    `attempt` sent for `quantity` on `to_account`, or, with `to_account` None, not sent
    and `reason` says why (attempts or time spent, or nothing left to complete)."""

    signal_id: str
    parent_id: str
    ended_order_id: str
    to_account: str | None
    quantity: Decimal | None
    attempt: int
    reason: str


@record
class ChildSignal(Event):
    """A block's child about to go through the chain: the block's signal for one account
    (its `account_id`, venue and quantity; a completion's with its own derived signal ID).
    Not a `TradingSignalGenerated`: the block was the signal received."""

    parent_id: str
    signal: TradingSignalGenerated
