"""Carries out TWAP parents: sends each slice when due, journaled before it leaves.

Everything it needs to resume is in the journal: the parent row holds the schedule (the
slices' legs, quantities and offsets as computed when the signal was admitted, so a
change of the instrument's rules later does not change it), and the slices sent are the
parent's children. A slice whose client order ID is already journaled is never sent
again, whatever state it is in: restart recovery follows it like any unfinished order.

Choices, and why:
- one slice per parent per tick at most, so a tick never bursts a schedule;
- after a restart, slices whose time passed while the engine was down are not sent at
  once: the rest of the schedule is shifted by the delay of the next unsent slice, so it
  keeps its pace and ends that much later (the whole quantity is still executed);
- a slice the venue rejects, or that fails, does not stop the parent: the next slice is
  sent on schedule (its own order lines say what happened);
- HALTED holds every due slice; REDUCING sends one only if it reduces the position
  (beyond what other working reducing orders already take off); the hold is audited
  once, and the schedule carries on (shifted by nothing) when trading resumes;
- the unsent remainder does not count as working exposure yet: risk judged the whole
  quantity when the signal was admitted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from ordergate.algorithms.twap import Slice, schedule
from ordergate.bus import EventBus
from ordergate.clock import Clock
from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.values import ZERO, OrderRole, OrderType, Side, TimeInForce, TradingState
from ordergate.events import AlgorithmFinished, AlgorithmStarted, AlgorithmWaiting, SliceSent
from ordergate.pipeline.chain import SignalContext, Verdict
from ordergate.pipeline.client_order_id import child_client_order_id, client_order_id_for
from ordergate.pipeline.derived_send import send_derived
from ordergate.pipeline.execute import Executor
from ordergate.pipeline.order_ledger import OrderLedger
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.pipeline.reconcile import Reconciler
from ordergate.venues.base import VenueAdapter

KIND = "twap"
_TERMINAL = frozenset(s.value for s in OrderStatus if s.is_terminal)


@dataclass(slots=True)
class _Run:
    parent_id: str
    signal_id: str
    spec: dict[str, object]
    slices: list[Slice]
    start: datetime
    sent: set[int] = field(default_factory=set)
    shift: timedelta = timedelta(0)
    waiting: str | None = None

    def next_slice(self) -> Slice | None:
        return next((s for s in self.slices if s.leg not in self.sent), None)

    def s(self, key: str) -> str:
        return str(self.spec[key])


class TwapRunner:
    def __init__(self, ledger: OrderLedger, executor: Executor, reconciler: Reconciler,
                 venues: Mapping[str, VenueAdapter], bus: EventBus, clock: Clock,
                 trading_state: Callable[[], TradingState],
                 position: Callable[[str, str, str], Decimal]) -> None:
        self._ledger, self._executor, self._reconciler = ledger, executor, reconciler
        self._venues, self._bus, self._clock = venues, bus, clock
        self._trading_state, self._position = trading_state, position
        self._runs: dict[str, _Run] = {}

    # ---------------------------------------------------------------- the parent

    async def start(self, ctx: SignalContext, quantity: Decimal, price: Decimal | None,
                    expected: Decimal | None) -> Verdict:
        """The executor's step for a signal with a TWAP: record the parent and its
        schedule, send slice 0. `quantity` and `price` are rounded already."""
        signal, instrument = ctx.signal, ctx.instrument
        algorithm = signal.algorithm
        assert algorithm is not None and instrument is not None
        parent_id = client_order_id_for(signal.strategy_id, signal.account_id, signal.signal_id)
        cap = price if algorithm.limit_price_cap is None else instrument.round_price(
            algorithm.limit_price_cap, signal.side)
        slices = schedule(quantity, algorithm.slices, algorithm.duration_s, instrument,
                          cap if cap is not None else expected)
        now = self._clock.now()
        spec: dict[str, object] = {
            "algorithm": KIND, "strategy_id": signal.strategy_id,
            "account_id": signal.account_id, "venue": signal.venue, "symbol": signal.symbol,
            "side": signal.side.value, "quantity": str(quantity),
            "cap": None if cap is None else str(cap), "expected": None if expected is None
            else str(expected), "duration_s": str(algorithm.duration_s),
            "slices_asked": algorithm.slices, "start": now.isoformat(),
            "time_in_force": (TimeInForce.GTC if cap is None else TimeInForce.IOC).value,
            "slices": [[s.leg, str(s.quantity), s.due_after // timedelta(microseconds=1)]
                       for s in slices],
        }
        journal = self._ledger.journal
        if not journal.insert_parent(parent_id, KIND, signal.signal_id,
                                     json.dumps(spec, sort_keys=True), now):
            status = (journal.parent(parent_id) or {}).get("status")
            return Verdict.deny(R.DUPLICATE_SIGNAL, f"TWAP {parent_id} for this signal already "
                                f"exists ({status}); not started again")
        run = _Run(parent_id, signal.signal_id, spec, slices, now)
        self._runs[parent_id] = run
        how = "at market" if cap is None else f"limit IOC at the cap {cap}"
        reason = (f"TWAP of {len(slices)} slices over {algorithm.duration_s} s started as "
                  f"{parent_id}: {quantity} {signal.symbol} {how}")
        self._bus.publish(AlgorithmStarted(now, parent_id, signal.signal_id, KIND, quantity,
                                           len(slices), algorithm.duration_s, cap, reason))
        await self._step(run)
        return Verdict.admit(reason)

    def resume(self) -> None:
        """At start, after recovery: carry on every active TWAP from the journal."""
        journal, now = self._ledger.journal, self._clock.now()
        for row in journal.active_parents(KIND):
            spec = json.loads(row["spec"])
            slices = [Slice(leg, Decimal(q), timedelta(microseconds=us))
                      for leg, q, us in spec["slices"]]
            run = _Run(row["parent_id"], row["signal_id"], spec, slices,
                       datetime.fromisoformat(spec["start"]))
            run.sent = {int(r["leg"]) for r in journal.children(run.parent_id)
                        if r["role"] == OrderRole.SLICE.value}
            if (nxt := run.next_slice()) is not None:
                run.shift = max(timedelta(0), now - (run.start + nxt.due_after))
            self._runs[run.parent_id] = run

    async def run_due(self) -> None:
        """The engine's tick step: at most one due slice per parent, then finish what is
        over."""
        for run in list(self._runs.values()):
            await self._step(run)

    async def cancel(self, parent_id: str, reason: str) -> bool:
        """Cancel a parent as a whole: no further slice, its working slices cancelled.
        False: no such active TWAP."""
        run = self._runs.pop(parent_id, None)
        journal = self._ledger.journal
        if run is None:
            row = journal.parent(parent_id)
            if row is None or row["status"] != "active" or row["kind"] != KIND:
                return False
            signal_id, quantity = row["signal_id"], Decimal(json.loads(row["spec"])["quantity"])
        else:
            signal_id, quantity = run.signal_id, Decimal(run.s("quantity"))
        journal.set_parent_status(parent_id, "cancelled", self._clock.now())
        for child in journal.children(parent_id):
            order = self._ledger.get(child["client_order_id"])
            venue = self._venues.get(child["venue"])
            if order is not None and not order.status.is_terminal and venue is not None:
                await self._reconciler.cancel(venue, order, f"parent {parent_id} cancelled: {reason}")
        self._bus.publish(AlgorithmFinished(self._clock.now(), parent_id, signal_id, "cancelled",
                                            quantity, self._filled(parent_id), reason))
        return True

    # ---------------------------------------------------------------- the slices

    async def _step(self, run: _Run) -> None:
        nxt = run.next_slice()
        if nxt is None:
            self._finish_if_over(run)
            return
        now = self._clock.now()
        if now < run.start + nxt.due_after + run.shift:
            return
        venue = self._venues.get(run.s("venue"))
        if (why := self._hold(run, nxt, venue)) is not None:
            if run.waiting != why:
                run.waiting = why
                self._bus.publish(AlgorithmWaiting(now, run.parent_id, run.signal_id, nxt.leg, why))
            return
        run.waiting = None
        assert venue is not None
        await self._send(run, nxt, venue)
        if run.next_slice() is None:
            self._finish_if_over(run)

    def _hold(self, run: _Run, nxt: Slice, venue: VenueAdapter | None) -> str | None:
        state = self._trading_state()
        if state is TradingState.HALTED:
            return "trading state is HALTED; the schedule waits"
        if venue is None:
            return f"venue {run.s('venue')} is not configured"
        if state is TradingState.REDUCING and not self._reduces(run, nxt.quantity):
            return "trading state is REDUCING and this slice would not reduce the position"
        return None

    def _reduces(self, run: _Run, quantity: Decimal) -> bool:
        account, venue, symbol, side = (run.s("account_id"), run.s("venue"), run.s("symbol"),
                                        Side(run.s("side")))
        held = self._position(account, venue, symbol)
        if held == 0 or (held > 0) != (side is Side.SELL):
            return False
        taken = sum((o.remaining_quantity for o in self._ledger.live_orders()
                     if (o.account_id, o.venue, o.symbol, o.side) == (account, venue, symbol, side)),
                    ZERO)
        return quantity + taken <= abs(held)

    async def _send(self, run: _Run, part: Slice, venue: VenueAdapter) -> None:
        """Journal, commit, send, follow: the executor's path for one slice."""
        run.sent.add(part.leg)
        cap = run.spec["cap"]
        price = None if cap is None else Decimal(str(cap))
        expected = run.spec["expected"]
        order = Order(
            child_client_order_id(run.parent_id, OrderRole.SLICE.value, part.leg),
            run.signal_id, run.s("strategy_id"), run.s("account_id"), run.s("venue"),
            run.s("symbol"), Side(run.s("side")),
            OrderType.MARKET if price is None else OrderType.LIMIT, part.quantity, price,
            TimeInForce(run.s("time_in_force")), self._clock.now(),
            expected_price=price if price is not None else (
                None if expected is None else Decimal(str(expected))),
            parent_id=run.parent_id, role=OrderRole.SLICE, leg=part.leg)
        ledger = self._ledger
        if not ledger.open(order):  # journaled before a restart: recovery follows it
            return
        if await self._executor.prepare(venue, order):
            await send_derived(ledger, self._executor, self._reconciler, venue, order,
                               f"slice {part.leg} of {run.parent_id}: sending {part.quantity} "
                               f"{order.symbol}" + ("" if price is None else f" @ {price} IOC"))
        self._bus.publish(SliceSent(self._clock.now(), run.parent_id, run.signal_id,
                                    order.client_order_id, part.leg, part.quantity, order.status))

    def _finish_if_over(self, run: _Run) -> None:
        journal = self._ledger.journal
        if any(child["status"] not in _TERMINAL for child in journal.children(run.parent_id)):
            return
        del self._runs[run.parent_id]
        now = self._clock.now()
        journal.set_parent_status(run.parent_id, "completed", now)
        self._bus.publish(AlgorithmFinished(now, run.parent_id, run.signal_id, "completed",
                                            Decimal(run.s("quantity")),
                                            self._filled(run.parent_id),
                                            f"all {len(run.slices)} slices sent and ended"))

    def _filled(self, parent_id: str) -> Decimal:
        return sum((Decimal(c["filled_quantity"]) for c in self._ledger.journal.children(parent_id)),
                   ZERO)
