"""What both amend paths share (`amend.py`, explicit; `amend_native.py`, the venue's
atomic replace): the outcome, the amend asked for, the lineage's legs, the risk check
they ask, and the journal's record of an explicit amend's ask."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ordergate.domain.instrument import Instrument
from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.values import ZERO, OrderRole
from ordergate.journal.order_journal import OrderJournal
from ordergate.journal.rows import order_with_fills
from ordergate.pipeline.chain import Verdict
from ordergate.pipeline.client_order_id import child_client_order_id
from ordergate.pipeline.order_ledger import OrderLedger
from ordergate.pipeline.reasons import ReasonCode
from ordergate.venues.base import VenueAdapter

if TYPE_CHECKING:
    from ordergate.pipeline.execute import Executor

AmendRisk = Callable[[Order, Instrument, Decimal, Decimal | None, Decimal], Awaitable[Verdict]]
"""The risk manager's word on an amend: (working leg, its instrument, the rest to fill,
the new limit price, what the lineage has filled in notional) -> a verdict. The engine
binds `RiskManager.check_amend` to its market; the amender knows no risk manager."""

ASK_KIND = "amend"
"""`parents.kind` of an explicit amend's ask: what a restart needs to finish it."""


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
    ask_id: str | None = None
    """The journal's record of an explicit amend's ask (`record_ask`); None for a native one."""
    grows: bool = False
    """The new total is more than the lineage's total was: what REDUCING forbids."""


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


def record_ask(journal: OrderJournal, asked: Asked, was: Decimal, leg: int,
               now: datetime) -> str:
    """Journal an explicit amend's ask before its cancel is sent (a `parents` row, kind
    `amend`, `active` until the amend ends, then `done`): a restart between the cancel
    and the replacement's journaling then knows what was asked (`Amender.restore`), and
    never has to read it back from a transition's text. `leg` is the replacement's leg number: a
    journaled leg of that number means the replacement was journaled. Named by the old
    leg and a count, as one leg can be asked again after a refused cancel; never the name
    of an order (an order's ID names its bracket or algorithm in `parents`)."""
    old, n = asked.old, 1
    while journal.parent(ask_id := f"{old.client_order_id}-amend-{n}") is not None:
        n += 1
    journal.insert_parent(ask_id, ASK_KIND, old.signal_id, json.dumps(
        {"order": old.client_order_id, "leg": leg, "total": str(asked.total),
         "price": None if asked.price is None else str(asked.price), "was": str(was)},
        sort_keys=True), now)
    return ask_id


def active_asks(journal: OrderJournal) -> list[tuple[str, dict[str, Any]]]:
    """The explicit amends a restart interrupted: (record, what was asked)."""
    return [(str(row["parent_id"]), json.loads(row["spec"]))
            for row in journal.active_parents(ASK_KIND)]


async def open_next_leg(ledger: OrderLedger, executor: Executor, asked: Asked,
                        legs: list[Order], rest: Decimal, now: datetime) -> Order | AmendOutcome:
    """The replacement, the lineage's next leg for `rest`: journaled and prepared for its
    venue, or the outcome saying why it could not be (a leg that exists already cannot
    be: its number follows the journal's legs)."""
    new = next_leg(asked, legs, rest, now)
    if not ledger.open(new):
        return AmendOutcome(False, ReasonCode.AMEND_INVALID,
                            f"leg {new.client_order_id} exists", asked.old)
    if not await executor.prepare(asked.venue, new):
        return AmendOutcome(False, ReasonCode.AMEND_INVALID, "the replacement could not be "
                            f"prepared: {new.transitions[-1].reason}", new)
    return new
