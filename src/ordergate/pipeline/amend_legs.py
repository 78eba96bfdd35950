"""What both amend paths share (`amend.py`, explicit; `amend_native.py`, the venue's
atomic replace): the outcome, the amend asked for, and the lineage's legs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.values import ZERO, OrderRole
from ordergate.journal.rows import order_with_fills
from ordergate.pipeline.client_order_id import child_client_order_id
from ordergate.pipeline.order_ledger import OrderLedger
from ordergate.pipeline.reasons import ReasonCode
from ordergate.venues.base import VenueAdapter


@dataclass(frozen=True, slots=True)
class AmendOutcome:
    """`done`: the replacement was sent (`order` is it) or waits for the old leg's cancel
    (`pending`); otherwise `code` says why not and `order` is the order as it stands."""

    done: bool
    code: ReasonCode | None
    reason: str
    order: Order | None
    pending: bool = False


@dataclass(frozen=True, slots=True)
class Asked:
    """One amend: the leg it replaces, its venue, the lineage's new total and price."""

    old: Order
    venue: VenueAdapter
    total: Decimal
    price: Decimal | None


def lineage(ledger: OrderLedger, order: Order) -> list[Order]:
    """The lineage `order` belongs to: the signal's own order, then its amendments by leg."""
    journal = ledger.journal
    root_id = order.parent_id if order.role is OrderRole.AMENDMENT else order.client_order_id
    assert root_id is not None
    root = ledger.get(root_id) or order_with_fills(journal, root_id)
    legs = [root] if root is not None else []
    for row in journal.children(root_id):
        if row["role"] == OrderRole.AMENDMENT:
            cid = str(row["client_order_id"])
            leg = ledger.get(cid) or order_with_fills(journal, cid)
            if leg is not None:
                legs.append(leg)
    return sorted(legs, key=lambda o: o.leg) or [order]


def filled(legs: list[Order]) -> Decimal:
    return sum((leg.filled_quantity for leg in legs), ZERO)


def next_leg(asked: Asked, legs: list[Order], rest: Decimal, now: datetime) -> Order:
    """The replacement: the lineage's next leg, for `rest`, its client order ID derived
    from the root's and its leg number (a restart derives the very same one)."""
    old, root = asked.old, legs[0]
    leg = max(leg.leg for leg in legs) + 1
    return replace(
        old, client_order_id=child_client_order_id(root.client_order_id, OrderRole.AMENDMENT, leg),
        quantity=rest, price=asked.price, created_at=now,
        expected_price=asked.price if asked.price is not None else old.expected_price,
        parent_id=root.client_order_id, role=OrderRole.AMENDMENT, leg=leg,
        status=OrderStatus.PENDING, venue_order_id=None, filled_quantity=ZERO,
        filled_notional=ZERO, fees={}, transitions=[])
