"""Every event the engine publishes, named in the past tense.

Events are immutable, slotted dataclasses (the signal, being the boundary input, is a
pydantic model). They are built on the hot path many times per signal, so they carry
plain values, never the mutable `Order` itself.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ordergate.domain.fill import Fill
from ordergate.domain.instrument import Instrument
from ordergate.domain.order import OrderStatus
from ordergate.domain.signal import TradingSignalGenerated
from ordergate.domain.values import (
    BracketAction, OrderRole, OrderType, Side, StopOutcome, TradingState,
)
from ordergate.records import record

__all__ = [
    "Event", "TradingSignalGenerated", "SignalInvalid", "SignalAdmitted", "SignalRejected",
    "OrderPlaced", "OrderTransitioned", "OrderAccepted", "OrderFilled", "OrderFailed",
    "OrderCancelled", "OrderExpired", "OrderUnresolved", "OrderOpenAtShutdown", "SlippageExceeded",
    "PositionOpened", "PositionChanged", "PositionClosed", "InstrumentInferred",
    "VenueCircuitChanged", "SystemError", "ReconciliationDrift", "TradingStateChanged",
    "PositionAdopted", "OrderAdopted", "VenueCallFailed", "VenueCallRecovered", "VenueDisabled",
    "InstrumentRulesChanged", "VenueClockResynced", "BracketChanged",
    "AlgorithmStarted", "SliceSent", "AlgorithmWaiting", "AlgorithmFinished",
    "OrderUpdated", "OrderModifyRejected", "StopTriggered", "AllocationDecided",
    "AllocationFailover", "AccountStatusChanged", "AllocationCompletion",
    "ChildSignal",
]


@record
class Event:
    ts: datetime


@record
class SignalInvalid(Event):
    """A signal that could not be parsed: `field` names what was wrong."""

    field: str
    reason: str
    signal_id: str | None = None
    line: int | None = None


@record
class SignalAdmitted(Event):
    """One handler let the signal through; `reason` says on what grounds."""

    signal_id: str
    handler: str
    reason: str


@record
class SignalRejected(Event):
    """One handler refused the signal. Nothing was sent."""

    signal_id: str
    handler: str
    code: str
    reason: str


@record
class OrderPlaced(Event):
    client_order_id: str
    signal_id: str
    account_id: str
    venue: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None


@record
class OrderTransitioned(Event):
    """Every status change of every order, with its reason: the audit trail's backbone."""

    client_order_id: str
    signal_id: str
    from_status: OrderStatus
    to_status: OrderStatus
    reason: str
    code: str = ""
    """A `ReasonCode` when the change has one (a post-only order the venue refused as
    taker: POST_ONLY_WOULD_TAKE); empty otherwise."""


@record
class OrderAccepted(Event):
    client_order_id: str
    venue_order_id: str | None


@record
class OrderFilled(Event):
    """A partial or full fill. `remaining` is what is left of the order after it."""

    fill: Fill
    signal_id: str
    filled_quantity: Decimal
    remaining: Decimal

    @property
    def is_partial(self) -> bool:
        return self.remaining > 0


@record
class OrderFailed(Event):
    """The order will not trade. `rejected` is True when the venue said no, False when
    ordergate gave up (for instance the venue denied ever having seen it)."""

    client_order_id: str
    signal_id: str
    reason: str
    rejected: bool


@record
class OrderCancelled(Event):
    client_order_id: str
    signal_id: str
    filled_quantity: Decimal
    reason: str


@record
class OrderExpired(Event):
    client_order_id: str
    signal_id: str
    filled_quantity: Decimal
    reason: str


@record
class OrderUnresolved(Event):
    """The venue's answer is not known (timeout, dropped connection). The order stays
    SUBMITTED and will be looked up by client order ID; it is not assumed failed."""

    client_order_id: str
    signal_id: str
    reason: str


@record
class OrderOpenAtShutdown(Event):
    """The engine stopped while this order was not finished: `status` says where it was
    left (working at the venue, or SUBMITTED with the venue's answer unknown)."""

    client_order_id: str
    signal_id: str
    status: OrderStatus
    reason: str


@record
class SlippageExceeded(Event):
    client_order_id: str
    signal_id: str
    expected_price: Decimal
    average_price: Decimal
    slippage: Decimal
    tolerance: Decimal


@record
class PositionEvent(Event):
    account_id: str
    venue: str
    symbol: str
    quantity: Decimal
    average_entry: Decimal
    realized_pnl: Decimal
    client_order_id: str
    trade_id: str


@record
class PositionOpened(PositionEvent):
    pass


@record
class PositionChanged(PositionEvent):
    pass


@record
class PositionClosed(PositionEvent):
    """`realized_pnl` is the position's total realised PnL at the moment it went flat."""


@record
class VenueCircuitChanged(Event):
    """A venue's circuit breaker changed state (CLOSED, OPEN, HALF_OPEN)."""

    venue: str
    from_state: str
    to_state: str
    reason: str


@record
class InstrumentInferred(Event):
    """The simulated venue made up an instrument from market data (said once per symbol)."""

    venue: str
    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    min_notional: Decimal


@record
class SystemError(Event):  # noqa: A001 - the name the issue asks for; shadows a builtin only here
    """Something inside the engine raised unexpectedly: a subscriber (`event_type` is the
    event it was handling), or a step of a decision or of the control loop (`source`
    names it). `error` is the exception's type and message, `where` the place it was
    raised. Audited and counted; by policy (`supervision.on_error`) it halts trading."""

    source: str
    error: str
    event_type: str = ""
    where: str = ""
    signal_id: str | None = None


@record
class VenueCallFailed(Event):
    """A background call to a venue (following orders, reconciling, reloading instruments)
    started failing; it is retried, and this is said once per episode, not once per try.
    `subject` is the order or account a refusal was specific to (empty for the venue)."""

    venue: str
    operation: str
    subject: str
    error: str


@record
class VenueCallRecovered(Event):
    """The venue answered that call again, after `failures` failed tries over `seconds`."""

    venue: str
    operation: str
    subject: str
    failures: int
    seconds: float
    last_error: str


@record
class VenueDisabled(Event):
    """A venue was taken out of use (its instruments could not be loaded, its credentials
    were refused): its signals are refused with VENUE_DISABLED and this reason."""

    venue: str
    reason: str


@record
class ReconciliationDrift(Event):
    """The venue's picture and ours disagree in a way following orders cannot explain.

    `kind` is one of: `unknown_venue_order` (the venue has an open order our journal does
    not), `order_missing_at_venue` (the journal has a working order the venue has never
    heard of), `position_mismatch` (the venue's balance of an asset is not the sum of our
    positions in it). `ours` and `venues` are the two sides, as text."""

    venue: str
    account_id: str | None
    kind: str
    subject: str
    ours: str
    venues: str
    detail: str


@record
class TradingStateChanged(Event):
    """The kill switch moved (ACTIVE, REDUCING, HALTED), by policy or by an operator."""

    from_state: TradingState
    to_state: TradingState
    reason: str
    by: str = ""
    """The operator who moved it (an HTTP token's name); empty for a policy."""


@record
class PositionAdopted(Event):
    """Cold start: a position taken over from the venue's balances, not built from fills.
    `mark` (the venue's mid at adoption, when it had one) stands in for the average entry."""

    account_id: str
    venue: str
    symbol: str
    quantity: Decimal
    mark: Decimal


@record
class OrderAdopted(Event):
    """Cold start: an open order found at the venue, journaled and followed as ours."""

    client_order_id: str
    signal_id: str
    venue: str
    symbol: str
    status: OrderStatus
    quantity: Decimal
    filled_quantity: Decimal


@record
class InstrumentRulesChanged(Event):
    """A symbol's trading rules at a venue (tick, lot, minimum quantity and notional, price
    limits) are not the ones we had: orders are rounded to `new` from now on. `why` says
    what found it: a venue refusing an order on a filter, or a scheduled reload."""

    venue: str
    symbol: str
    old: Instrument
    new: Instrument
    why: str


@record
class VenueClockResynced(Event):
    """A venue refused a request's timestamp (Binance -1021: our clock ahead of its own by
    a second or more, or the request older than its recvWindow), so the adapter measured
    the difference again and retried once. `offset_ms` is our clock minus the venue's, as
    measured now (positive: ours is ahead)."""

    venue: str
    offset_ms: int
    reason: str


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


# ---------------------------------------------------------------- amend


@record
class OrderUpdated(Event):
    """An amend took effect: `client_order_id` was cancelled and `new_client_order_id`
    (its next leg, `role` amendment) sent for what is left of the new total `quantity`
    at `price`."""

    client_order_id: str
    new_client_order_id: str
    signal_id: str
    quantity: Decimal
    price: Decimal | None
    reason: str


@record
class OrderModifyRejected(Event):
    """An amend did not take effect, and why (`code`, a `ReasonCode`): the order is as it
    was, or ended on its own (filled before its cancel)."""

    client_order_id: str
    signal_id: str
    code: str
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
