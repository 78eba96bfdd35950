"""An order's life: placed, every status change, accepted, failed, cancelled, expired,
unresolved, open at shutdown; and amended (`OrderUpdated`) or not (`OrderModifyRejected`).
Its fills are in `fills`."""

from __future__ import annotations

from decimal import Decimal

from ordergate.domain.order import OrderStatus
from ordergate.domain.values import OrderType, Side
from ordergate.events.base import Event
from ordergate.records import record


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
