"""A block once its children are sent: completing what ends short, and the block's end.

Completion: a sent child that ends CANCELLED or EXPIRED with part of it unfilled (its
fill timeout, an IOC without the liquidity; never one an operator cancelled) is followed
by a completion order on the same account, a child of its own with a signal ID derived
from the block's and the attempt, sized from the block's *recorded* fills and working
orders (the block less what every child has filled and what the working ones may still
fill, and no more than the ended child's shortfall), never from the original quantity;
at most `allocation.completion.max_attempts`, none once the block is older than
`completion.timeout_s`; each audited as `allocation_completion`. The block is `done` once
every child has ended. A child for an account paused since the block was judged is never
sent (ALLOCATION_ACCOUNT_PAUSED): failovers skip it, and a completion goes to the next
free eligible account instead.

`BlockCompletion` holds no state: it is the part of `BlockAllocator` (`blocks.py`, which
inherits it) that follows a block once its children are sent, kept here by concern. The
allocator's attributes and methods it uses are declared on it for the type checker.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from ordergate.allocation.children import (
    FAILED, PENDING, REFUSED, SENT, child_order_id, completion_signal_id, dumps, new_child,
    order_failure,
)
from ordergate.allocation.settings import CompletionSettings
from ordergate.bus import EventBus
from ordergate.clock import Clock
from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.signal import TradingSignalGenerated
from ordergate.events import AllocationCompletion, OrderTransitioned
from ordergate.journal.order_journal import OrderJournal
from ordergate.pipeline.chain import Outcome

ZERO = Decimal(0)


class BlockCompletion:
    """The methods of `BlockAllocator` that run once a block's children are sent:
    completing what ended short, re-routing a child found never placed, ending the block."""

    # the allocator's, set in its __init__
    _blocks: dict[str, tuple[TradingSignalGenerated, dict[str, Any]]]
    _by_order: dict[str, str]  # a watched child's client order ID -> block
    _dirty: dict[str, None]
    _journal: OrderJournal
    _bus: EventBus
    _clock: Clock
    _order: Callable[[str], Order | None]
    _completion: CompletionSettings
    _account_paused: Callable[[str], bool]

    if TYPE_CHECKING:  # the allocator's, in blocks.py
        def venue_of(self, account: str, signal_venue: str) -> str: ...

        async def _carry_out(self, parent_id: str, signal: TradingSignalGenerated,
                             spec: dict[str, Any]) -> Outcome: ...

        def _fail_over(self, parent_id: str, signal: TradingSignalGenerated,
                       spec: dict[str, Any], failed: dict[str, Any], quantity: Decimal | None,
                       why: str) -> None: ...

    @property
    def pending(self) -> bool:
        return bool(self._dirty)

    def release(self, client_order_id: str) -> None:
        """An operator cancels a child: its remainder is not completed (a cancel asked for
        is a decision, not a shortfall)."""
        parent_id = self._by_order.get(client_order_id)
        if parent_id is None:
            return
        signal, spec = self._blocks[parent_id]
        for child in spec["children"]:
            if child["state"] == SENT and child_order_id(signal, child) == client_order_id:
                child["released"] = True  # in the record: a restart does not complete it
        self._journal.set_parent_spec(parent_id, dumps(spec), self._clock.now())

    async def cancel(self, parent_id: str, reason: str,
                     cancel_order: Callable[[str, str], Awaitable[bool]]) -> bool:
        """Cancel a block as a whole: no completion or failover any more, its working
        children cancelled (`cancel_order`: the engine's cancel). False: no such active
        block."""
        found = self._blocks.get(parent_id)
        if found is None:
            return False
        signal, spec = found
        spec["cancelled"] = reason
        for child in spec["children"]:
            if child["state"] == PENDING:
                child.update(state=REFUSED, why=f"block cancelled: {reason}")
            elif child["state"] == SENT:
                child["released"] = True
        self._journal.set_parent_spec(parent_id, dumps(spec), self._clock.now())
        for child in spec["children"]:
            if child["state"] == SENT:
                cid = child_order_id(signal, child)
                order = self._order(cid)
                if order is not None and not order.status.is_terminal:
                    await cancel_order(cid, f"block {parent_id} cancelled: {reason}")
        self._dirty[parent_id] = None
        return True

    def _transitioned(self, event: OrderTransitioned) -> None:
        if event.to_status.is_terminal and (pid := self._by_order.get(event.client_order_id)):
            self._dirty[pid] = None

    def _watch(self, parent_id: str, signal: TradingSignalGenerated,
               spec: dict[str, Any]) -> None:
        """Follow the block's sent children until every one has ended; done then."""
        self._blocks[parent_id] = (signal, spec)
        for child in spec["children"]:
            if child["state"] == SENT:
                self._by_order[child_order_id(signal, child)] = parent_id
        self._dirty[parent_id] = None

    async def run(self) -> None:
        """At the end of each decision and tick: complete what ended short, finish blocks
        whose children have all ended."""
        while self._dirty:
            parent_id = next(iter(self._dirty))
            del self._dirty[parent_id]
            if parent_id in self._blocks:
                await self._review(parent_id)

    async def _review(self, parent_id: str) -> None:
        signal, spec = self._blocks[parent_id]
        orders = [(child, self._order(child_order_id(signal, child)))
                  for child in spec["children"] if child["state"] == SENT]
        working = [o for _, o in orders if o is not None and not o.status.is_terminal]
        block = spec.get("block")
        for child, order in orders:
            if order is None or not order.status.is_terminal or child.get("ended"):
                continue
            if failed := order_failure(order):  # found not placed later (a lost send)
                child.update(ended=order.status.value, state=FAILED, why=failed)
                quantity = None if child["quantity"] is None else Decimal(child["quantity"])
                self._fail_over(parent_id, signal, spec, child, quantity, failed)
                continue
            if order.status not in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
                continue
            child["ended"] = order.status.value
            short = order.quantity - order.filled_quantity
            if short <= 0 or block is None or child.get("released"):
                continue
            filled = sum((o.filled_quantity for _, o in orders if o is not None), ZERO)
            room = Decimal(block) - filled - sum((o.remaining_quantity for o in working), ZERO)
            self._complete(parent_id, signal, spec, child, order, min(short, room))
        self._journal.set_parent_spec(parent_id, dumps(spec), self._clock.now())
        if any(c["state"] == PENDING for c in spec["children"]):
            await self._carry_out(parent_id, signal, spec)  # watches (and reviews) it again
            return
        if not working:
            del self._blocks[parent_id]
            for child, order in orders:
                if order is not None:
                    self._by_order.pop(order.client_order_id, None)
            self._journal.set_parent_status(parent_id, "cancelled" if spec.get("cancelled")
                                            else "done", self._clock.now())

    def _complete(self, parent_id: str, signal: TradingSignalGenerated, spec: dict[str, Any],
                  ended: dict[str, Any], order: Order, due: Decimal) -> None:
        """Add a completion child for what `order` left unfilled, if the bounds allow."""
        lot = Decimal(spec["lot"])
        due = (due / lot).to_integral_value(rounding=ROUND_FLOOR) * lot
        attempt = 1 + sum(1 for c in spec["children"] if "completion_of" in c)
        started = datetime.fromisoformat(spec["started"])
        now = self._clock.now()
        short = order.quantity - order.filled_quantity
        head = (f"child {order.client_order_id} of {ended['account']} {order.status} with "
                f"{short} of {order.quantity} unfilled")
        if due <= 0:
            why, to = f"{head}; the block's other orders cover it: nothing to complete", None
        elif attempt > self._completion.max_attempts:
            why, to = f"{head}; {self._completion.max_attempts} completions made: no more", None
        elif now > started + timedelta(seconds=self._completion.timeout_s):
            why, to = (f"{head}; the block is older than completion.timeout_s "
                       f"({self._completion.timeout_s} s): not completed"), None
        elif (to := self._completion_account(spec, ended["account"])) is None:
            why = f"{head}; its account is paused and no other eligible account is free"
        else:
            venue = ended["venue"] if to == ended["account"] else self.venue_of(
                to, signal.venue)
            spec["children"].append({
                **new_child(to, venue, due), "completion_of": order.client_order_id,
                "signal_id": completion_signal_id(signal.signal_id, attempt),
                "ts": now.isoformat()})
            why = (f"{head}: completion {attempt} of {due} sent for {to}, sized from the "
                   "block's recorded fills and working orders")
        self._bus.publish(AllocationCompletion(now, signal.signal_id, parent_id,
                                               order.client_order_id, to, due if to else None,
                                               attempt, why))

    def _completion_account(self, spec: dict[str, Any], account: str) -> str | None:
        """The account whose child ended short, unless it has been paused since: then the
        next eligible account of the block that is not paused and has no child yet."""
        if not self._account_paused(account):
            return account
        used = {c["account"] for c in spec["children"]}
        return next((a for a in spec["eligible"]
                     if a not in used and not self._account_paused(a)), None)
