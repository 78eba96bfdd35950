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
(FAILED) or refused it for funds, it is re-routed then (`_review`, in `completion.py`).

Completion (`completion.py`): a sent child that ends CANCELLED or EXPIRED with part of it
unfilled is followed by a completion order, sized from the block's recorded fills and
working orders; the block is `done` once every child has ended. A child for an account
paused since the block was judged is never sent (ALLOCATION_ACCOUNT_PAUSED): failovers
skip it, and a completion goes to the next free eligible account instead.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from ordergate.allocation.allocator import Allocation, allocate
from ordergate.allocation.children import (
    FAILED, PENDING, REFUSED, SENT, child_order_id, dumps, failure, new_child, order_failure,
    summary,
)
from ordergate.allocation.completion import ZERO, BlockCompletion
from ordergate.allocation.day_book import DayBook
from ordergate.allocation.settings import AccountSettings, CompletionSettings, GroupSettings
from ordergate.allocation.standing import StandingReader
from ordergate.bus import EventBus
from ordergate.clock import Clock
from ordergate.domain.instrument import Instrument
from ordergate.domain.order import Order
from ordergate.domain.signal import TradingSignalGenerated
from ordergate.events import AllocationDecided, AllocationFailover
from ordergate.events import OrderTransitioned, SignalRejected
from ordergate.journal.order_journal import OrderJournal
from ordergate.journal.rows import order_with_fills
from ordergate.market import EngineMarket
from ordergate.pipeline.chain import Outcome, SignalContext
from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.pipeline.reasons import ReasonCode as R

__all__ = ["KIND", "ZERO", "BlockAllocator", "RunChild"]

KIND = "block"
RunChild = Callable[[TradingSignalGenerated, str],
                    Awaitable[tuple[Outcome, SignalContext]]]


class BlockAllocator(BlockCompletion):
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
