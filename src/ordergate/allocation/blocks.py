"""`BlockAllocator`: a block becomes children, journaled before the first one is sent.

A signal whose `account_id` names a group (`[groups.NAME]`) is a block. It is judged and
split once (`allocator.allocate`), and the decision (the signal itself, the policy and
each child's account, venue and quantity) is journaled as a parent (kind `block`, named
by the client order ID the signal would have had for the group) before any child
leaves. Each child is then the same signal for one account (its `account_id`, its
account's venue, its quantity) through the very same chain (validator, risk, executor,
reconciler), so its client order ID is derived from the signal and the account.

Why it cannot send a child twice or lose one:
- the same signal again finds its block in the journal: refused as DUPLICATE_SIGNAL,
  nothing re-judged or re-split (standings have moved since, so a new split could differ);
- a kill between the journal write and the last child: at start (`resume`) every active
  block's children are taken from the journal; a child whose order is journaled is
  recovery's (followed like any order), one that is not is run through the chain now;
- each child's state (`pending`, `sent`, `refused`, `failed`) is written to the block's
  record after its decision, and a failover child is added to it (`pending`) before it
  is sent: a restart never runs a child again that was refused, nor re-routes twice;
- what a child risked (quantity x entry-to-stop distance) is added to its account's day
  (`DayBook`) when it is admitted, in the same commit as its order.

Failover: a child that fails where another account could succeed (the venue refused it
for funds, could not be reached, its circuit is open or it is disabled; the risk manager
found no equity for it) is re-routed to the next account of the group, in its order,
that was eligible when the block was judged and has no child of this block yet, at
`allocation.failover_fraction` (95%) of its quantity, rounded down to the lot; audited
as `allocation_failover`. A child whose outcome is unknown (sent, no answer yet) is never
re-routed while it may still fill: once the venue's answer says it was never placed
(FAILED) or refused it for funds, it is re-routed then (`_review`).

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
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from ordergate.allocation.allocator import Allocation, allocate
from ordergate.allocation.children import (
    FAILED, PENDING, REFUSED, SENT, child_order_id, completion_signal_id, dumps, failure,
    new_child, order_failure, summary,
)
from ordergate.allocation.day_book import DayBook
from ordergate.allocation.settings import AccountSettings, CompletionSettings, GroupSettings
from ordergate.allocation.standing import StandingReader
from ordergate.bus import EventBus
from ordergate.clock import Clock
from ordergate.domain.instrument import Instrument
from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.signal import TradingSignalGenerated
from ordergate.events import AllocationCompletion, AllocationDecided, AllocationFailover
from ordergate.events import OrderTransitioned, SignalRejected
from ordergate.journal.order_journal import OrderJournal
from ordergate.journal.rows import order_with_fills
from ordergate.market import EngineMarket
from ordergate.pipeline.chain import Outcome, SignalContext
from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.pipeline.reasons import ReasonCode as R

KIND = "block"
ZERO = Decimal(0)
RunChild = Callable[[TradingSignalGenerated, str],
                    Awaitable[tuple[Outcome, SignalContext]]]


class BlockAllocator:
    name = "allocator"

    def __init__(self, accounts: Mapping[str, AccountSettings],
                 groups: Mapping[str, GroupSettings], journal: OrderJournal,
                 market: EngineMarket, standings: StandingReader, days: DayBook,
                 bus: EventBus, clock: Clock, run_child: RunChild,
                 order: Callable[[str], Order | None], completion: CompletionSettings,
                 failover_fraction: Decimal = Decimal("0.95"),
                 group_paused: Callable[[str], bool] = lambda name: False,
                 account_paused: Callable[[str], bool] = lambda name: False) -> None:
        self._accounts, self._groups = accounts, groups
        self._group_paused, self._account_paused = group_paused, account_paused
        self._failover_fraction = failover_fraction
        self._journal, self._market, self._standings, self._days = journal, market, standings, days
        self._bus, self._clock, self._run_child = bus, clock, run_child
        self._order, self._completion = order, completion
        self._blocks: dict[str, tuple[TradingSignalGenerated, dict[str, Any]]] = {}
        self._by_order: dict[str, str] = {}  # a watched child's client order ID -> block
        self._dirty: dict[str, None] = {}
        if groups:  # no groups, no blocks: nothing for every order's transitions to pay
            bus.subscribe(OrderTransitioned, self._transitioned)

    def is_block(self, signal: TradingSignalGenerated) -> bool:
        return signal.account_id in self._groups

    def venue_of(self, account: str, signal_venue: str) -> str:
        return self._accounts[account].venue or signal_venue

    # ------------------------------------------------------------------ a block

    async def submit(self, signal: TradingSignalGenerated) -> Outcome:
        group_name = signal.account_id
        group = self._groups[group_name]
        parent_id = client_order_id_for(signal.strategy_id, group_name, signal.signal_id)
        found = self._journal.parent(parent_id)
        if found is not None:
            return self._refused(signal, R.DUPLICATE_SIGNAL, f"block {parent_id} for this "
                                 f"signal was allocated already ({found['status']}): not "
                                 "judged or split again")
        if self._group_paused(group_name):
            return self._refused(signal, R.ALLOCATION_GROUP_PAUSED, f"group {group_name} is "
                                 "paused: it takes no block until it is resumed")
        if self._market.venue(signal.venue) is None:  # (its reference price is read there)
            return self._refused(signal, R.UNKNOWN_VENUE, f"venue {signal.venue!r} of the "
                                 "block is not configured")
        venues = {a: self.venue_of(a, signal.venue) for a in group.accounts}
        rules = self._rules(signal.symbol, set(venues.values()))
        if isinstance(rules, tuple):
            return self._refused(signal, *rules)
        price = signal.limit_price if signal.limit_price is not None else (
            await self._market.reference_price(signal.venue, signal.symbol))
        standings = {a: await self._standings.read(a, venues[a], signal.symbol, rules.quote)
                     for a in group.accounts}
        limits = {a: self._accounts[a].limits() for a in group.accounts}
        decided = allocate(group_name, group.policy, group.accounts, standings, limits,
                           signal.quantity, rules, price, group.ratios)
        self._publish(signal, parent_id, decided)
        if decided.refused is not None:
            return self._refused(signal, decided.refused, decided.describe())
        sized: list[tuple[str, Decimal | None]] = [
            (c.account, c.quantity) for c in decided.children] or [
            (a, None) for a in decided.sized_by_risk]
        spec: dict[str, Any] = {
            "group": group_name, "policy": decided.policy.value, "lot": str(rules.lot_size),
            "signal": signal.model_dump(mode="json"),
            "eligible": [e.account for e in decided.accounts if e.eligible],
            "block": None if decided.block is None else str(decided.block),
            "started": self._clock.now().isoformat(),
            "children": [new_child(a, venues[a], q) for a, q in sized]}
        self._journal.insert_parent(parent_id, KIND, signal.signal_id, dumps(spec),
                                    self._clock.now())
        return await self._carry_out(parent_id, signal, spec)

    async def resume(self) -> int:
        """At start, after recovery: finish every block a kill interrupted. Returns how many."""
        rows = self._journal.active_parents(KIND)
        for row in rows:
            spec = json.loads(row["spec"])
            signal = TradingSignalGenerated.model_validate(spec["signal"])
            await self._carry_out(row["parent_id"], signal, spec)
        return len(rows)

    async def _carry_out(self, parent_id: str, signal: TradingSignalGenerated,
                         spec: dict[str, Any]) -> Outcome:
        """Run every pending child (a failover adds one), recording each one's state."""
        results: list[tuple[str, Outcome]] = []
        children: list[dict[str, Any]] = spec["children"]
        for child in children:  # grows while iterated: a failover child is run in turn
            if child["state"] != PENDING:
                continue
            account = child["account"]
            cid = child_order_id(signal, child)
            quantity = None if child["quantity"] is None else Decimal(child["quantity"])
            journaled = order_with_fills(self._journal, cid)
            if journaled is None and self._account_paused(account):
                # Paused since the block was judged (a failover or completion target, a
                # child resumed at restart): no new child for it, said so.
                child.update(state=REFUSED, why="paused")
                why = f"account {account} paused since the block was judged: child not sent"
                self._bus.publish(SignalRejected(self._clock.now(), signal.signal_id, self.name,
                                                 R.ALLOCATION_ACCOUNT_PAUSED.value, why))
                results.append((account, Outcome(False, self.name, why,
                                                 R.ALLOCATION_ACCOUNT_PAUSED, None)))
                self._journal.set_parent_spec(parent_id, dumps(spec), self._clock.now())
                continue
            if journaled is not None:  # sent before a kill: recovery follows it now
                steps = self._journal.transitions(cid)
                failed = order_failure(journaled, steps[-1]["reason"] if steps else "")
                child["state"] = FAILED if failed else SENT
                if failed:
                    child["why"] = failed
                    self._fail_over(parent_id, signal, spec, child, quantity, failed)
                self._journal.set_parent_spec(parent_id, dumps(spec), self._clock.now())
                continue
            update: dict[str, Any] = {"account_id": account, "venue": child["venue"],
                                      "quantity": quantity}
            if "signal_id" in child:  # a completion: a decision of its own, made now
                update.update(signal_id=child["signal_id"],
                              ts=datetime.fromisoformat(child["ts"]))
            outcome, ctx = await self._run_child(signal.model_copy(update=update), parent_id)
            results.append((account, outcome))
            order = ctx.order
            failed = failure(outcome, order)
            child["state"] = FAILED if failed else SENT if order is not None else REFUSED
            if order is not None and not failed and ctx.stop_loss is not None:
                entry = order.price or order.expected_price or ctx.reference_price
                if entry is not None:
                    self._days.add_risk(account, order.quantity * abs(entry - ctx.stop_loss))
            if failed:
                child["why"] = failed
                self._fail_over(parent_id, signal, spec, child, quantity, failed)
            self._journal.set_parent_spec(parent_id, dumps(spec), self._clock.now())
        self._watch(parent_id, signal, spec)
        return summary(parent_id, results)

    def _fail_over(self, parent_id: str, signal: TradingSignalGenerated, spec: dict[str, Any],
                   failed: dict[str, Any], quantity: Decimal | None, why: str) -> None:
        """Add the failed child's re-route to the block's record (sent by `_carry_out`)."""
        used = {c["account"] for c in spec["children"]}
        target = next((a for a in spec["eligible"]
                       if a not in used and not self._account_paused(a)), None)
        moved = None
        if quantity is not None:
            lot = Decimal(spec["lot"])
            moved = (quantity * self._failover_fraction / lot).to_integral_value(
                rounding=ROUND_FLOOR) * lot
        if target is None or (moved is not None and moved <= 0):
            reason = (f"child of {failed['account']} failed ({why}); no eligible account "
                      "of the group is left to take it" if target is None else
                      f"child of {failed['account']} failed ({why}); "
                      f"{self._failover_fraction:.0%} of {quantity} is less than a lot")
            target = None
        else:
            spec["children"].append({**new_child(target, self.venue_of(target, signal.venue),
                                              moved), "failover_of": failed["account"]})
            reason = (f"child of {failed['account']} failed ({why}): re-routed to {target}, "
                      + ("sized by its own risk" if moved is None else
                         f"{moved} ({self._failover_fraction:.0%} of {quantity})"))
        self._bus.publish(AllocationFailover(self._clock.now(), signal.signal_id, parent_id,
                                             failed["account"], target, moved, reason))

    # ------------------------------------------------------------------ completion

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

    # ------------------------------------------------------------------ helpers

    def _rules(self, symbol: str, venues: set[str]) -> Instrument | tuple[R, str]:
        """The rules every child must meet: the coarsest lot (each venue's lot must divide
        it, or a child rounded at its venue would not sum to its share) and the largest
        minimums of the group's venues."""
        found = [self._market.instrument(v, symbol) for v in sorted(venues)]
        known = [i for i in found if i is not None]
        if not known:
            return R.UNKNOWN_SYMBOL, f"{symbol} is not listed at {sorted(venues)}"
        lot = max(i.lot_size for i in known)
        if any(lot % i.lot_size for i in known):
            return R.ALLOCATION_RULES_DIFFER, (
                f"{symbol}: lot sizes {sorted({str(i.lot_size) for i in known})} at the group's "
                "venues do not divide one another; children could not sum to the block")
        first = known[0]
        return Instrument(first.venue, symbol, first.base, first.quote, first.tick_size, lot,
                          max(i.min_quantity for i in known),
                          min_notional=max(i.min_notional for i in known))

    def _publish(self, signal: TradingSignalGenerated, parent_id: str, a: Allocation) -> None:
        children: tuple[tuple[str, Decimal | None], ...] = (
            tuple((c.account, c.quantity) for c in a.children)
            or tuple((account, None) for account in a.sized_by_risk))
        self._bus.publish(AllocationDecided(
            self._clock.now(), signal.signal_id, parent_id, a.group, a.policy.value, a.block,
            children, None if a.refused is None else a.refused.value, a.describe()))

    def _refused(self, signal: TradingSignalGenerated, code: R, why: str) -> Outcome:
        self._bus.publish(SignalRejected(self._clock.now(), signal.signal_id, self.name,
                                         code.value, why))
        return Outcome(False, self.name, why, code, None)
