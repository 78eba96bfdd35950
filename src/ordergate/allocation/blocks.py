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
- what a child risked (quantity x entry-to-stop distance) is added to its account's day
  (`DayBook`) when it is admitted, in the same commit as its order.
Not yet: completion of a child's unfilled remainder and failover of a failed child to
another account (issue 11, items 4 and 5): a child refused or failed is reported, its
quantity is not sent elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal

from ordergate.allocation.allocator import Allocation, allocate
from ordergate.allocation.day_book import DayBook
from ordergate.allocation.settings import AccountSettings, GroupSettings
from ordergate.allocation.standing import StandingReader
from ordergate.bus import EventBus
from ordergate.clock import Clock
from ordergate.domain.instrument import Instrument
from ordergate.domain.signal import TradingSignalGenerated
from ordergate.events import AllocationDecided, SignalRejected
from ordergate.journal.order_journal import OrderJournal
from ordergate.market import EngineMarket
from ordergate.pipeline.chain import Outcome, SignalContext
from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.pipeline.reasons import ReasonCode as R

KIND = "block"
RunChild = Callable[[TradingSignalGenerated], Awaitable[tuple[Outcome, SignalContext]]]


class BlockAllocator:
    name = "allocator"

    def __init__(self, accounts: Mapping[str, AccountSettings],
                 groups: Mapping[str, GroupSettings], journal: OrderJournal,
                 market: EngineMarket, standings: StandingReader, days: DayBook,
                 bus: EventBus, clock: Clock, run_child: RunChild) -> None:
        self._accounts, self._groups = accounts, groups
        self._journal, self._market, self._standings, self._days = journal, market, standings, days
        self._bus, self._clock, self._run_child = bus, clock, run_child

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
        children: list[tuple[str, str, Decimal | None]] = (
            [(c.account, venues[c.account], c.quantity) for c in decided.children]
            or [(a, venues[a], None) for a in decided.sized_by_risk])
        spec = {"group": group_name, "policy": decided.policy.value,
                "signal": signal.model_dump(mode="json"),
                "children": [[a, v, None if q is None else str(q)] for a, v, q in children]}
        self._journal.insert_parent(parent_id, KIND, signal.signal_id,
                                    json.dumps(spec, sort_keys=True), self._clock.now())
        return await self._send(parent_id, signal, children)

    async def resume(self) -> int:
        """At start, after recovery: finish every block a kill interrupted. Returns how many."""
        rows = self._journal.active_parents(KIND)
        for row in rows:
            spec = json.loads(row["spec"])
            signal = TradingSignalGenerated.model_validate(spec["signal"])
            children = [(a, v, None if q is None else Decimal(q)) for a, v, q in spec["children"]]
            await self._send(row["parent_id"], signal, children, resumed=True)
        return len(rows)

    async def _send(self, parent_id: str, signal: TradingSignalGenerated,
                    children: list[tuple[str, str, Decimal | None]],
                    resumed: bool = False) -> Outcome:
        results: list[tuple[str, Outcome]] = []
        for account, venue, quantity in children:
            cid = client_order_id_for(signal.strategy_id, account, signal.signal_id)
            if resumed and self._journal.order(cid) is not None:
                continue  # sent before the kill: recovery follows it
            child = signal.model_copy(update={"account_id": account, "venue": venue,
                                              "quantity": quantity})
            outcome, ctx = await self._run_child(child)
            results.append((account, outcome))
            order = ctx.order
            if outcome.admitted and order is not None and ctx.stop_loss is not None:
                entry = order.price or order.expected_price or ctx.reference_price
                if entry is not None:
                    self._days.add_risk(account, order.quantity * abs(entry - ctx.stop_loss),
                                        None)
        self._journal.set_parent_status(parent_id, "done", self._clock.now())
        return _summary(parent_id, results)

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


def _summary(parent_id: str, results: list[tuple[str, Outcome]]) -> Outcome:
    """The block's answer: admitted if any child was; each child's end in the reason."""
    parts = []
    for account, o in results:
        if o.admitted and o.order is not None:
            parts.append(f"{account} {o.order.quantity} {o.order.status}")
        else:
            parts.append(f"{account} refused {o.code} by {o.handler}")
    admitted = [o for _, o in results if o.admitted]
    reason = f"block {parent_id}: " + (", ".join(parts) or "every child was sent before")
    if admitted:
        return Outcome(True, "allocator", reason, None, admitted[0].order)
    code = next((o.code for _, o in results if o.code is not None), None)
    return Outcome(not results, "allocator", reason, code, None)
