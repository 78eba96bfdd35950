"""Orders that carry on after their decision: a bracket's exits, an execution algorithm's
parent and its slices (TWAP), and an emulated stop held until its trigger."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ordergate.domain.order import OrderStatus
from ordergate.domain.values import BracketAction, OrderRole, OrderType, Side, StopOutcome
from ordergate.events.base import Event
from ordergate.records import record


@record
class BracketChanged(Event):
    """A bracket moved: its entry's exits were placed, re-sized, cancelled, or could not be
    placed (`algorithms/bracket_manager.py`). `entry_id` is the entry's client order ID
    (the bracket's name in the journal); `client_order_id` the exit concerned, if any;
    `quantity` what the exits protect after the change."""

    entry_id: str
    signal_id: str
    action: BracketAction
    reason: str
    role: OrderRole | None = None
    client_order_id: str | None = None
    quantity: Decimal | None = None


# ---------------------------------------------------------------- execution algorithms


@record
class AlgorithmStarted(Event):
    """A signal with an `algorithm` became a parent (`parent_id`, the client order ID its
    single order would have had) with an explicit schedule: `slices` child orders over
    `duration_s`. The schedule itself is journaled with the parent."""

    parent_id: str
    signal_id: str
    algorithm: str
    quantity: Decimal
    slices: int
    duration_s: Decimal
    cap: Decimal | None
    reason: str


@record
class SliceSent(Event):
    """Slice `leg` of `parent_id` journaled and sent as `client_order_id`."""

    parent_id: str
    signal_id: str
    client_order_id: str
    leg: int
    quantity: Decimal
    status: OrderStatus


@record
class AlgorithmWaiting(Event):
    """A due slice was not sent, and why (the kill switch HALTED, REDUCING and the slice
    would grow the position); published once per pause, not at every tick."""

    parent_id: str
    signal_id: str
    leg: int
    reason: str


@record
class AlgorithmFinished(Event):
    """The parent is over: `completed` (every slice sent and ended), `cancelled`, or
    `expired` (the signal's `expires_at` ended the schedule with slices unsent);
    `filled_quantity` is what its slices filled together."""

    parent_id: str
    signal_id: str
    status: str
    quantity: Decimal
    filled_quantity: Decimal
    reason: str


# ---------------------------------------------------------------- emulated stops


@record
class StopTriggered(Event):
    """A held (emulated) stop's reference price crossed its trigger
    (`pipeline/stop_emulator.py`). `outcome`: `sent` (as `sent_as`, at `price` for a
    limit), `refused` (the kill switch: cancelled, `code` says why), or `waiting` (an exit
    while HALTED with `brackets.exits_when_halted` off: still held, published once per
    pause). `reference` is the touch that crossed it (the ask for a buy, the bid for a
    sell) and `reference_ts` that quote's time."""

    client_order_id: str
    signal_id: str
    venue: str
    symbol: str
    side: Side
    trigger_price: Decimal
    reference: Decimal
    reference_ts: datetime
    outcome: StopOutcome
    sent_as: OrderType | None
    price: Decimal | None
    reason: str
    code: str = ""
