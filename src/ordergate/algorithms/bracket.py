"""A bracket: an entry and the reduce-only exits that protect what it has filled.

The state and the sizing rule only, no I/O (`bracket_manager.py` places and cancels).

The rule, one-cancels-the-other as a quantity: the exits protect the *open* quantity,
what the entry has filled minus what every exit leg has filled, both from recorded
fills. Each exit (a stop at the stop-loss, a limit at the take-profit) works for exactly
that quantity. So when the entry fills more, both are re-sized up; when one exit fills
(in part), the open quantity falls by as much and the other is re-sized down; when it
reaches zero, whatever is still working is cancelled. A new leg is placed only once the
leg it replaces has ended at the venue (its fills counted), so no leg is ever sent for
more than is open at that moment, and the exits never grow or flip the position by what
ordergate sends. Only the venue filling both exits inside one reaction time can exceed
it; that is measured here (`overfill`), never hidden.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ordergate.domain.order import Order
from ordergate.domain.values import ZERO, OrderRole, OrderType, Side

EXIT_ROLES = (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)


@dataclass(slots=True)
class Bracket:
    entry: Order
    stop_loss: Decimal | None
    take_profit: Decimal | None
    legs: dict[OrderRole, list[Order]] = field(default_factory=dict)
    """Every exit leg ever placed, per role, oldest first; the last is the current one."""
    refused_at: dict[OrderRole, Decimal] = field(default_factory=dict)
    """The open quantity at which an exit of this role was last refused or found below
    the venue's minimum: not tried again until the open quantity changes."""
    retry_at: dict[OrderRole, datetime] = field(default_factory=dict)
    """When an exit of this role that could not be sent (FAILED) is tried again."""
    released: bool = False
    """An operator cancelled an exit: the bracket places nothing more."""

    @property
    def entry_id(self) -> str:
        return self.entry.client_order_id

    def prices(self) -> dict[OrderRole, Decimal]:
        """The exits this bracket has, each with its price (a stop's trigger, a limit's)."""
        out: dict[OrderRole, Decimal] = {}
        if self.stop_loss is not None:
            out[OrderRole.STOP_LOSS] = self.stop_loss
        if self.take_profit is not None:
            out[OrderRole.TAKE_PROFIT] = self.take_profit
        return out

    def exits_filled(self) -> Decimal:
        return sum((leg.filled_quantity for legs in self.legs.values() for leg in legs), ZERO)

    def entry_holding(self) -> Decimal:
        """What the entry's fills put in the account: for a buy whose commission the venue
        took in the base asset (Binance spot without BNB: 0.1% of the BTC bought), that
        much less than it filled. An exit sized by the gross fill would sell more than the
        account holds and be refused for funds, leaving the position unprotected. The base
        asset is the symbol's part before "/" (ccxt's and the simulated venue's form)."""
        entry = self.entry
        if entry.side is Side.BUY and entry.fees:
            return entry.filled_quantity - entry.fees.get(entry.symbol.partition("/")[0], ZERO)
        return entry.filled_quantity

    def open_quantity(self) -> Decimal:
        """What the exits must protect now: negative when they have filled more than the
        entry holds (an overfill)."""
        return self.entry_holding() - self.exits_filled()

    def current(self, role: OrderRole) -> Order | None:
        legs = self.legs.get(role)
        return legs[-1] if legs else None

    def next_leg(self, role: OrderRole) -> int:
        current = self.current(role)
        return 1 if current is None else current.leg + 1

    def working_exits(self) -> list[Order]:
        return [leg for legs in self.legs.values() for leg in legs if not leg.status.is_terminal]

    def is_finished(self) -> bool:
        """Nothing left to protect and nothing left working: the entry has ended, and the
        exits have closed what it filled (or it filled nothing)."""
        return (self.entry.status.is_terminal and self.open_quantity() <= 0
                and not self.working_exits())

    def add_leg(self, order: Order) -> None:
        self.legs.setdefault(order.role, []).append(order)
        self.legs[order.role].sort(key=lambda o: o.leg)


def exit_order_type(role: OrderRole, market_now: bool) -> OrderType:
    """A stop-loss is a stop_market at its trigger, or a market order when the market has
    already crossed it (the venue refused the stop as one that would trigger at once:
    the position is past its stop, so it is closed now); a take-profit is a limit."""
    if role is OrderRole.TAKE_PROFIT:
        return OrderType.LIMIT
    return OrderType.MARKET if market_now else OrderType.STOP_MARKET


def spec_json(stop_loss: Decimal | None, take_profit: Decimal | None) -> str:
    """What the journal keeps of a bracket beyond its entry's row (`parents.spec`)."""
    return json.dumps({"stop_loss": None if stop_loss is None else str(stop_loss),
                       "take_profit": None if take_profit is None else str(take_profit)},
                      sort_keys=True)


def parse_spec(text: str) -> tuple[Decimal | None, Decimal | None]:
    spec = json.loads(text)
    sl, tp = spec.get("stop_loss"), spec.get("take_profit")
    return (None if sl is None else Decimal(sl)), (None if tp is None else Decimal(tp))
