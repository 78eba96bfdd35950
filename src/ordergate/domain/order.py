"""An order and its one table of legal state transitions.

Three outcomes are kept apart everywhere:
- *denied*: refused locally, never sent (no order exists; see `ReasonCode`);
- *rejected*: the venue answered no (REJECTED: the venue proved it);
- *unresolved*: a timeout or dropped connection. The order stays SUBMITTED until the
  venue's answer is known; it is never assumed to have failed.

`Order.transition` is the only way an order's status changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from ordergate.domain.values import ZERO, OrderRole, OrderType, Side, TimeInForce
from ordergate.records import record


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    HELD = "HELD"
    """An emulated stop (`pipeline/stop_emulator.py`): ordergate's own, waiting for its
    trigger, never sent. Not terminal (it counts as exposure, as an open order, as a
    bracket's working exit) and not working (no venue has it: nothing polls the venue
    for it, no fill timeout applies, reconciliation never expects to see it there)."""
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCEL_PENDING = "CANCEL_PENDING"
    PENDING_UPDATE = "PENDING_UPDATE"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"

    # Set on each member below, from the table: plain attributes, not properties, as they
    # are read many times per order on the hot path.
    is_terminal: bool
    """No transition leaves it."""
    is_working: bool
    """Live at the venue: it can still fill."""


S = OrderStatus
# The legal transitions. Read a row as "from this status, the order may move to ...".
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    # Written to the journal, not yet sent. FAILED: it could not be sent at all. HELD:
    # a stop the venue cannot take natively, kept by ordergate until its trigger.
    S.PENDING: frozenset({S.SUBMITTED, S.FAILED, S.HELD}),
    # An emulated stop, never sent. SUBMITTED: triggered, sent under this very client
    # order ID (it was never sent before, so exactly-once holds). CANCELLED: a local
    # cancel, no venue call (also a trigger the kill switch refuses). EXPIRED: its
    # good-till-date passed while held. FAILED: triggered, but it could not be prepared.
    S.HELD: frozenset({S.SUBMITTED, S.CANCELLED, S.EXPIRED, S.FAILED}),
    # Sent; the venue's answer may not be known yet (a timeout keeps it here).
    # A fill can be the first thing we hear (the acknowledgement was lost or is late);
    # an IOC/market order with no liquidity goes straight to EXPIRED; FAILED only after
    # the venue has explicitly said, repeatedly, that it never saw the order.
    S.SUBMITTED: frozenset(
        {S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED, S.REJECTED, S.EXPIRED, S.CANCELLED,
         S.CANCEL_PENDING, S.FAILED}
    ),
    # Working at the venue. The venue can cancel or expire it on its own (GTD, IOC).
    S.ACCEPTED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCEL_PENDING, S.CANCELLED, S.EXPIRED,
                           S.PENDING_UPDATE}),
    # A second partial fill is a self-transition.
    S.PARTIALLY_FILLED: frozenset(
        {S.PARTIALLY_FILLED, S.FILLED, S.CANCEL_PENDING, S.CANCELLED, S.EXPIRED, S.PENDING_UPDATE}
    ),
    # An amend was asked for (`pipeline/amend.py`): the order is being replaced by a new
    # leg, by cancelling it first. Fills can still arrive (the order filled while the
    # amend was decided); the cancel's request moves it on; a venue that ends it (GTD)
    # ends it; given up, it is working again.
    S.PENDING_UPDATE: frozenset(
        {S.CANCEL_PENDING, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED, S.ACCEPTED}
    ),
    # A cancel was requested. Fills can still arrive (the order filled while the cancel
    # travelled); a refused cancel returns the order to working.
    S.CANCEL_PENDING: frozenset(
        {S.CANCELLED, S.PARTIALLY_FILLED, S.FILLED, S.EXPIRED, S.ACCEPTED}
    ),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
    S.FAILED: frozenset(),
}
TERMINAL = frozenset(status for status, targets in TRANSITIONS.items() if not targets)
WORKING = frozenset({S.ACCEPTED, S.PARTIALLY_FILLED, S.CANCEL_PENDING, S.PENDING_UPDATE})
for _status in OrderStatus:
    _status.is_terminal = _status in TERMINAL
    _status.is_working = _status in WORKING


class IllegalTransition(RuntimeError):
    """A transition not in `TRANSITIONS`: a bug or a venue report we must not trust."""


@record
class OrderTransition:
    from_status: OrderStatus
    to_status: OrderStatus
    ts: datetime
    reason: str


@dataclass(slots=True)
class Order:
    """One order intent, from the journal write to its terminal status.

    `quantity` and `price` are already rounded to the instrument; `expected_price` is
    the reference the reconciler measures slippage against."""

    client_order_id: str
    signal_id: str
    strategy_id: str
    account_id: str
    venue: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    time_in_force: TimeInForce
    created_at: datetime
    expected_price: Decimal | None = None
    expires_at: datetime | None = None
    post_only: bool = False
    """The venue must refuse the order rather than fill any of it as taker."""
    trigger_price: Decimal | None = None
    """A stop order's trigger, rounded to the tick (away from the market); None otherwise."""
    parent_id: str | None = None
    """Lineage: the order or algorithm this one was derived from (a bracket's entry for its
    exits, the amended order for its replacement, a TWAP parent for its slices); None for
    a signal's own order."""
    role: OrderRole = OrderRole.PRIMARY
    leg: int = 0
    """Which one of its parent's children: the amendment number, the slice number, or an
    exit's version (an exit resized as its entry fills is a new order, a new leg)."""
    reduce_only: bool = False
    """Must never grow or flip the position (a bracket's exits): sized from the position
    and the fills recorded, and re-sized, never sent larger."""
    status: OrderStatus = OrderStatus.PENDING
    venue_order_id: str | None = None
    filled_quantity: Decimal = ZERO
    filled_notional: Decimal = ZERO
    fees: dict[str, Decimal] = field(default_factory=dict)
    """Per currency: a Binance buy pays in the base asset, a sell in the quote."""
    transitions: list[OrderTransition] = field(default_factory=list)

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.filled_quantity

    @property
    def average_price(self) -> Decimal | None:
        if self.filled_quantity == 0:
            return None
        return self.filled_notional / self.filled_quantity

    def can_transition(self, to: OrderStatus) -> bool:
        return to in TRANSITIONS[self.status]

    def transition(self, to: OrderStatus, ts: datetime, reason: str) -> OrderTransition:
        if to not in TRANSITIONS[self.status]:
            raise IllegalTransition(
                f"{self.client_order_id}: {self.status} -> {to} is not a legal transition ({reason})"
            )
        step = OrderTransition(self.status, to, ts, reason)
        self.status = to
        self.transitions.append(step)
        return step

    def add_execution(self, price: Decimal, quantity: Decimal, fee: Decimal = ZERO,
                      fee_currency: str = "") -> None:
        """Account for one fill's size; the caller decides the status it implies."""
        self.filled_quantity += quantity
        self.filled_notional += price * quantity
        if fee:
            self.fees[fee_currency] = self.fees.get(fee_currency, ZERO) + fee
