"""The venue's picture against ours (`reconciliation/`): drift, and on a cold start the
positions and open orders adopted from the venue."""

from __future__ import annotations

from decimal import Decimal

from ordergate.domain.order import OrderStatus
from ordergate.events.base import Event
from ordergate.records import record


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
