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
  (beyond what working reducing *orders* already take off: neither this parent's own
  remainder, which is what the slice is part of, nor another parent's, which would let
  two reducing TWAPs hold each other for good); the hold is audited once, and the
  schedule carries on (shifted by nothing) when trading resumes;
- the unsent remainder (the slices not yet journaled) counts as working exposure, as a
  reservation in the ledger's `WorkingOrders` keyed by the parent (`domain/exposure.py`):
  risk judged the whole quantity once, at admission, and a later signal on the same
  account must see what is still to come (REDUCING room, free equity, open symbols).
  It is set at the start and on resume, lowered by each slice as it is journaled (the
  slice then counts as an order: never both, never neither), and released when the
  parent completes, is cancelled or expires;
- `expires_at` (the signal's) ends the schedule: a schedule whose last slice would be
  due at or after it is refused at admission (`SCHEDULE_PAST_EXPIRY`: truncating it
  would execute a quantity the strategy did not ask for, silently); one that runs past
  it anyway (a halt, a restart's shift) sends no slice at or after it, and the parent is
  `expired` once its sent slices have ended (a parent whose every slice went before it
  is `completed`: the expiry cut nothing off the schedule). The slices carry the same
  `expires_at`, so a slice still working then is cancelled by the reconciler exactly as
  a plain order past its good-till-date is, rather than by a cancel of the runner's own:
  one rule for every order with a deadline, which holds after a restart without the
  runner (the deadline is in the slice's journal row) and is the reconciler's to follow
  up (a refused or lost cancel). The expiry is in the parent's journaled spec, so a
  restart after it expires the parent at start, without sending.
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
from ordergate.domain.exposure import Key
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
    expires_at: datetime | None
    sent: set[int] = field(default_factory=set)
    unsent: Decimal = ZERO
    """What the slices not yet journaled add up to: the parent's reservation."""
    shift: timedelta = timedelta(0)
    waiting: str | None = None
    expired: bool = False
    """`expires_at` came with slices unsent: none is sent; finished once the sent end."""

    @classmethod
    def of(cls, parent_id: str, signal_id: str, spec: dict[str, object],
           sent: set[int]) -> _Run:
        """From the journaled spec, at the start as on resume: one reading of it."""
        rows = spec["slices"]
        assert isinstance(rows, list)
        slices = [Slice(leg, Decimal(q), timedelta(microseconds=us)) for leg, q, us in rows]
        expiry = spec.get("expires_at")
        run = cls(parent_id, signal_id, spec, slices, datetime.fromisoformat(str(spec["start"])),
                  None if expiry is None else datetime.fromisoformat(str(expiry)), sent)
        run.unsent = sum((p.quantity for p in slices if p.leg not in sent), ZERO)
        return run

    def next_slice(self) -> Slice | None:
        return next((s for s in self.slices if s.leg not in self.sent), None)

    def s(self, key: str) -> str:
        return str(self.spec[key])

    @property
    def key(self) -> Key:
        return self.s("account_id"), self.s("venue"), self.s("symbol")

    def price(self) -> Decimal | None:
        """What a slice is expected to pay: the cap, or the expected price at admission."""
        price = self.spec["cap"] if self.spec["cap"] is not None else self.spec["expected"]
        return None if price is None else Decimal(str(price))


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
        now, expiry = self._clock.now(), signal.expires_at
        if expiry is not None and slices and now + slices[-1].due_after >= expiry:
            last = now + slices[-1].due_after
            return Verdict.deny(R.SCHEDULE_PAST_EXPIRY, (
                f"expires_at {expiry.isoformat()}: the last of {len(slices)} slices over "
                f"{algorithm.duration_s} s would be due at {last.isoformat()}, not before it; "
                "not started (a shorter duration_s or a later expires_at fits)"))
        spec: dict[str, object] = {
            "algorithm": KIND, "strategy_id": signal.strategy_id,
            "account_id": signal.account_id, "venue": signal.venue, "symbol": signal.symbol,
            "side": signal.side.value, "quantity": str(quantity),
            "cap": None if cap is None else str(cap), "expected": None if expected is None
            else str(expected), "duration_s": str(algorithm.duration_s),
            "slices_asked": algorithm.slices, "start": now.isoformat(),
            "expires_at": None if expiry is None else expiry.isoformat(),
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
        run = _Run.of(parent_id, signal.signal_id, spec, set())
        self._runs[parent_id] = run
        self._reserve(run)
        how = "at market" if cap is None else f"limit IOC at the cap {cap}"
        reason = (f"TWAP of {len(slices)} slices over {algorithm.duration_s} s started as "
                  f"{parent_id}: {quantity} {signal.symbol} {how}" + (
                      "" if expiry is None else f"; no slice sent from {expiry.isoformat()}"))
        self._bus.publish(AlgorithmStarted(now, parent_id, signal.signal_id, KIND, quantity,
                                           len(slices), algorithm.duration_s, cap, reason))
        await self._step(run)
        return Verdict.admit(reason)

    def resume(self) -> None:
        """At start, after recovery: carry on every active TWAP from the journal."""
        journal, now = self._ledger.journal, self._clock.now()
        for row in journal.active_parents(KIND):
            parent_id = row["parent_id"]
            sent = {int(r["leg"]) for r in journal.children(parent_id)
                    if r["role"] == OrderRole.SLICE.value}
            run = _Run.of(parent_id, row["signal_id"], json.loads(row["spec"]), sent)
            if (nxt := run.next_slice()) is not None:
                run.shift = max(timedelta(0), now - (run.start + nxt.due_after))
            self._runs[parent_id] = run
            if self._expires(run, now):  # expired while the engine was down: none sent
                self._finish_if_over(run)
            else:
                self._reserve(run)

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
        self._ledger.working.release(parent_id)  # no further slice: nothing reserved
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
        now = self._clock.now()
        nxt = None if self._expires(run, now) else run.next_slice()
        if nxt is None:
            self._finish_if_over(run)
            return
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

    def _expires(self, run: _Run, now: datetime) -> bool:
        """Has `expires_at` ended the schedule (with slices unsent)? Released then: the
        remainder will never be sent, so it is no longer exposure."""
        if (not run.expired and run.expires_at is not None and now >= run.expires_at
                and run.next_slice() is not None):
            run.expired = True
            self._ledger.working.release(run.parent_id)
        return run.expired

    def _reserve(self, run: _Run) -> None:
        """The parent's unsent remainder as working exposure (a buy's at its price)."""
        side, price = Side(run.s("side")), run.price()
        notional = run.unsent * price if side is Side.BUY and price is not None else ZERO
        self._ledger.working.reserve(run.parent_id, run.key, side, run.unsent, notional)

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
        """Orders only (the ledger's live orders), never reservations: the slice is part of
        this parent's own remainder (see the module's docstring for another's)."""
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
        run.unsent -= part.quantity
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
            parent_id=run.parent_id, role=OrderRole.SLICE, leg=part.leg,
            expires_at=run.expires_at)
        ledger = self._ledger
        opened = ledger.open(order)  # now it counts as an order: off the reservation
        self._reserve(run)  # (after the open: if that raised, it still counts, once)
        if not opened:  # journaled before a restart: recovery follows it
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
        self._ledger.working.release(run.parent_id)
        now, quantity, filled = (self._clock.now(), Decimal(run.s("quantity")),
                                 self._filled(run.parent_id))
        if run.expired:
            assert run.expires_at is not None
            status = "expired"
            sent = sum((p.quantity for p in run.slices if p.leg in run.sent), ZERO)
            reason = (f"expires_at {run.expires_at.isoformat()} ended the schedule: "
                      f"{len(run.sent)} of {len(run.slices)} slices sent ({sent} of "
                      f"{quantity} {run.s('symbol')}), {filled} filled, {run.unsent} "
                      "left unsent")
        else:
            status, reason = "completed", f"all {len(run.slices)} slices sent and ended"
        journal.set_parent_status(run.parent_id, status, now)
        self._bus.publish(AlgorithmFinished(now, run.parent_id, run.signal_id, status,
                                            quantity, filled, reason))

    def _filled(self, parent_id: str) -> Decimal:
        return sum((Decimal(c["filled_quantity"]) for c in self._ledger.journal.children(parent_id)),
                   ZERO)
