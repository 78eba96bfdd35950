"""`BracketManager`: places, re-sizes and cancels a bracket's exits as its entry fills.

A signal with `stop_loss` and/or `take_profit` and `protect` (or `brackets.protect` in
config) is entered as a bracket. Its record (`parents`, kind `bracket`, named by the
entry's client order ID) is journaled with the entry, before the entry is sent: a kill
at any later moment finds it, so a filled entry is never left without its exits.

Exits are ordinary orders with a lineage (`parent_id` = the entry, role STOP_LOSS or
TAKE_PROFIT, `leg` = 1, 2, ... as they are re-sized), reduce-only, journaled before they
are sent and followed by the reconciler like any order, with client order IDs derived
from the entry's, so a restart derives the same ones and never sends a leg twice. The
sizing rule and why it never lets the exits grow the position: `bracket.py`.

One-cancels-the-other is the venue's where it has native OCO lists (`OcoCapable`: the
simulated venue unless `native_oco` is off, Binance spot through ccxt's raw
`orderList/oco`) and both exits are wanted: both go as one list, the funds locked once
(so a spot account holds both), and the venue ends the other leg when one fills or
triggers, so both can never fill (`bracket_oco.py`). Elsewhere (Polymarket, other ccxt
exchanges, a bracket with one exit, a list the venue refused) it is ordergate's own, with
two separate exits. What that costs: between one exit's fill and the other's cancel
there is one reaction (the next poll); a venue that fills both inside it overfills, which
is reported as drift (`bracket_overfill`), by policy halting.

The emulated path (each exit its own order) is `bracket_emulated.py`; this module keeps
the brackets' state, learns from the bus, retries, detects overfills and audits.

Driven by the engine at the end of each decision (`run`), after the fills and ends of
the orders it watches have been applied (it learns of them from the bus).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from ordergate.algorithms.bracket import EXIT_ROLES, Bracket, parse_spec, spec_json
from ordergate.algorithms.bracket_emulated import EmulatedExits
from ordergate.algorithms.bracket_oco import OcoExits
from ordergate.bus import EventBus
from ordergate.clock import Clock
from ordergate.config import BracketSettings
from ordergate.domain.instrument import Instrument
from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.values import ZERO, BracketAction, OrderRole, TradingState
from ordergate.events import BracketChanged, OrderFilled, OrderTransitioned, ReconciliationDrift
from ordergate.events import TradingStateChanged
from ordergate.journal.rows import order_with_fills
from ordergate.pipeline.chain import SignalContext
from ordergate.pipeline.execute import Executor
from ordergate.pipeline.order_ledger import OrderLedger
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.pipeline.reconcile import Reconciler
from ordergate.venues.base import VenueAdapter

S = OrderStatus
KIND = "bracket"
_ROUNDS = 4  # adjustments per decision: a cancel's answer can change what is open


class BracketManager:
    def __init__(self, settings: BracketSettings, ledger: OrderLedger, executor: Executor,
                 reconciler: Reconciler, bus: EventBus, clock: Clock,
                 venues: Mapping[str, VenueAdapter],
                 instrument: Callable[[str, str], Instrument | None],
                 trading_state: Callable[[], TradingState],
                 on_drift: Callable[[ReconciliationDrift], None]) -> None:
        self._s = settings
        self._ledger, self._executor, self._reconciler = ledger, executor, reconciler
        self._bus, self._clock, self._venues = bus, clock, venues
        self._instrument, self._trading_state, self._on_drift = instrument, trading_state, on_drift
        self._active: dict[str, Bracket] = {}
        self._by_exit: dict[str, str] = {}  # exit's client order ID -> its entry's
        self._dirty: dict[str, None] = {}   # entries to adjust, in the order they changed
        self._market_now: set[str] = set()  # stop-loss crossed already: exit at market
        self._overfilled: set[str] = set()
        self._next_retry: datetime | None = None  # the earliest `Bracket.retry_at`
        self.stops_emulated: Callable[[str], bool] = lambda venue: False
        """Does ordergate hold the stops of this venue (`StopEmulator.emulates`)? Then no
        native OCO list: its stop leg would rest at the venue against the config."""
        self._oco = OcoExits(self)  # the native-OCO path, where the venue has lists
        self._each = EmulatedExits(self)  # everywhere else: each exit its own order
        bus.subscribe(OrderFilled, self._filled)
        bus.subscribe(OrderTransitioned, self._transitioned)
        bus.subscribe(TradingStateChanged, self._state_changed)

    # ------------------------------------------------------------------ reading

    @property
    def pending(self) -> bool:
        """Something changed that a bracket must answer (`run`), or an exit that could not
        be sent is due to be tried again."""
        return bool(self._dirty) or (self._next_retry is not None
                                     and self._clock.now() >= self._next_retry)

    def get(self, entry_id: str) -> Bracket | None:
        return self._active.get(entry_id)

    def active(self) -> list[Bracket]:
        return list(self._active.values())

    def is_exit(self, client_order_id: str) -> bool:
        return client_order_id in self._by_exit

    # ------------------------------------------------------------------ opening

    def opened(self, ctx: SignalContext, order: Order) -> None:
        """The executor journaled a signal's order and has not sent it yet: if the signal
        asks for protection, journal the bracket now, in the same commit as the entry."""
        signal = ctx.signal
        protect = signal.protect if signal.protect is not None else self._s.protect
        if (not protect or order.role is not OrderRole.PRIMARY
                or (signal.stop_loss is None and signal.take_profit is None)):
            return
        now = self._clock.now()
        entry_id = order.client_order_id
        if not self._ledger.journal.insert_parent(entry_id, KIND, order.signal_id,
                                                  spec_json(signal.stop_loss, signal.take_profit),
                                                  now):
            return
        bracket = Bracket(order, signal.stop_loss, signal.take_profit)
        self._active[entry_id] = bracket
        exits = ", ".join(f"{role} at {price}" for role, price in bracket.prices().items())
        self._publish(bracket, BracketAction.OPENED,
                      f"exits placed as the entry fills, reduce-only, one cancels the other: {exits}",
                      quantity=ZERO)

    def restore(self) -> int:
        """At start, after restart recovery: every bracket the journal has not seen finish,
        with its entry and exit legs (the ledger's, where recovery follows them, or as
        journaled), adjusted at the next `run`: a filled entry whose exits were never
        placed gets them then. Returns how many."""
        journal = self._ledger.journal
        for row in journal.active_parents(KIND):
            entry_id = str(row["parent_id"])
            entry = self._ledger.get(entry_id) or order_with_fills(journal, entry_id)
            if entry is None:  # cannot happen with a journal ordergate wrote; never guessed at
                continue
            stop_loss, take_profit = parse_spec(str(row["spec"]))
            bracket = Bracket(entry, stop_loss, take_profit)
            for child in journal.children(entry_id):
                cid = str(child["client_order_id"])
                leg = self._ledger.get(cid) or order_with_fills(journal, cid)
                if leg is not None and leg.role in EXIT_ROLES:
                    bracket.add_leg(leg)
                    self._by_exit[cid] = entry_id
            self._active[entry_id] = bracket
            self._dirty[entry_id] = None
            working = len(bracket.working_exits())
            lists = self._oco.relink(bracket)
            self._publish(bracket, BracketAction.RELINKED,
                          f"found in the journal at start: entry {entry.status}, filled "
                          f"{entry.filled_quantity}; exits filled {bracket.exits_filled()}, "
                          f"{working} working"
                          + (f", legs of {lists} OCO list(s)" if lists else ""),
                          quantity=max(bracket.open_quantity(), ZERO))
        return len(self._active)

    def release(self, client_order_id: str, reason: str) -> bool:
        """An operator cancels an exit: the bracket stops placing any (the other exit is
        cancelled at the next `run`, as nothing is protected any more). True if
        `client_order_id` was an exit of an active bracket."""
        entry_id = self._by_exit.get(client_order_id)
        bracket = self._active.get(entry_id) if entry_id is not None else None
        if bracket is None:
            return False
        bracket.released = True
        self._dirty[bracket.entry_id] = None
        self._publish(bracket, BracketAction.UNPROTECTED,
                      f"exit {client_order_id} cancelled by request ({reason}): this bracket "
                      "places no more exits and cancels the other", quantity=ZERO)
        return True

    # ------------------------------------------------------------------ what changed

    def _entry_of(self, client_order_id: str) -> str | None:
        if client_order_id in self._active:
            return client_order_id
        return self._by_exit.get(client_order_id)

    def _filled(self, event: OrderFilled) -> None:
        if not self._active:  # every order's events come here: nothing to do without a bracket
            return
        if (entry_id := self._entry_of(event.fill.client_order_id)) is not None:
            self._dirty[entry_id] = None

    def _transitioned(self, event: OrderTransitioned) -> None:
        if not self._active or (not event.to_status.is_terminal
                                and event.to_status is not S.ACCEPTED):
            return
        if (entry_id := self._entry_of(event.client_order_id)) is not None:
            self._dirty[entry_id] = None
            if event.code == R.STOP_WOULD_TRIGGER and event.client_order_id in self._by_exit:
                self._market_now.add(entry_id)

    def _state_changed(self, _: TradingStateChanged) -> None:
        for entry_id in self._active:  # what waited for the kill switch is looked at again
            self._dirty[entry_id] = None

    # ------------------------------------------------------------------ adjusting

    async def run(self) -> None:
        """Bring every changed bracket's exits in line with what is open."""
        if self._next_retry is not None and self._clock.now() >= self._next_retry:
            self._due_retries()
        for _ in range(_ROUNDS):
            if not self._dirty:
                return
            dirty, self._dirty = list(self._dirty), {}
            for entry_id in dirty:
                bracket = self._active.get(entry_id)
                if bracket is not None:
                    await self._adjust(bracket)

    async def _adjust(self, bracket: Bracket) -> None:
        venue = self._venues.get(bracket.entry.venue)
        if venue is None:
            return
        market_now = bracket.entry_id in self._market_now
        if (capable := self._oco.capable(bracket, venue, market_now)) is not None:
            await self._oco.adjust(bracket, venue, capable)
        else:
            await self._each.adjust(bracket, venue)
        if bracket.is_finished() or (bracket.released and not bracket.working_exits()):
            self._finish(bracket)

    def exit_refused(self, order: Order) -> None:
        """An exit sent later than it was placed (an emulated stop, sent when it triggered,
        `pipeline/stop_emulator.py`) was refused or could not be sent: answered as one
        refused when placed, so it is not placed again at every tick."""
        entry_id = self._by_exit.get(order.client_order_id)
        bracket = self._active.get(entry_id) if entry_id is not None else None
        if bracket is not None:
            self._refused(bracket, order, max(bracket.open_quantity(), ZERO))

    def _refused(self, bracket: Bracket, order: Order, target: Decimal) -> None:
        """An exit the venue refused (or that could not be sent): the position is not
        protected by it; not tried again until the open quantity changes."""
        last = order.transitions[-1].reason if order.transitions else str(order.status)
        if last.startswith(R.STOP_WOULD_TRIGGER):
            self._market_now.add(bracket.entry_id)
            self._dirty[bracket.entry_id] = None  # closed at market at once
            return
        again = ""
        if order.status is S.FAILED:  # never answered: worth another leg later
            at = self._clock.now() + timedelta(seconds=self._s.exit_retry_s)
            bracket.retry_at[order.role] = at
            self._next_retry = at if self._next_retry is None else min(self._next_retry, at)
            again = f"; tried again at {at.isoformat()}"
        else:
            bracket.refused_at[order.role] = target
        self._publish(bracket, BracketAction.UNPROTECTED,
                      f"{order.role} exit {order.client_order_id} {order.status}: {last}; "
                      f"{target} open is not protected by a {order.role}{again}",
                      role=order.role, client_order_id=order.client_order_id, quantity=target)

    def _due_retries(self) -> None:
        """Exits whose retry time has come are looked at again; the next time is kept."""
        now, later = self._clock.now(), None
        for bracket in self._active.values():
            for role, at in list(bracket.retry_at.items()):
                if at <= now:
                    del bracket.retry_at[role]
                    self._dirty[bracket.entry_id] = None
                else:
                    later = at if later is None else min(later, at)
        self._next_retry = later

    def _may_send(self) -> bool:
        """Exits only ever reduce: sent while REDUCING, and while HALTED unless config says
        nothing at all may leave then."""
        return self._trading_state() is not TradingState.HALTED or self._s.exits_when_halted

    def _overfill(self, bracket: Bracket, excess: Decimal) -> None:
        if bracket.entry_id in self._overfilled:
            return
        self._overfilled.add(bracket.entry_id)
        entry = bracket.entry
        detail = (f"the exits of bracket {bracket.entry_id} filled {bracket.exits_filled()} where "
                  f"the entry filled {entry.filled_quantity}: {excess} beyond the position (the "
                  "venue filled both exits before the other could be cancelled)")
        self._publish(bracket, BracketAction.OVERFILLED, detail, quantity=ZERO)
        self._on_drift(ReconciliationDrift(
            self._clock.now(), entry.venue, entry.account_id, "bracket_overfill",
            bracket.entry_id, str(entry.filled_quantity), str(bracket.exits_filled()), detail))

    def _finish(self, bracket: Bracket) -> None:
        entry = bracket.entry
        now = self._clock.now()
        self._ledger.journal.set_parent_status(bracket.entry_id, "done", now)
        del self._active[bracket.entry_id]
        for legs in bracket.legs.values():
            for leg in legs:
                self._by_exit.pop(leg.client_order_id, None)
        self._market_now.discard(bracket.entry_id)
        self._overfilled.discard(bracket.entry_id)
        self._oco.finished(bracket)
        closed = {role: sum((leg.filled_quantity for leg in legs), ZERO)
                  for role, legs in bracket.legs.items()}
        how = ", ".join(f"{role} filled {q}" for role, q in closed.items()) or "no exit placed"
        self._publish(bracket, BracketAction.FINISHED,
                      f"entry {entry.status}, filled {entry.filled_quantity}; {how}",
                      quantity=ZERO)

    def _publish(self, bracket: Bracket, action: BracketAction, reason: str, *,
                 role: OrderRole | None = None, client_order_id: str | None = None,
                 quantity: Decimal | None = None) -> None:
        self._bus.publish(BracketChanged(
            self._clock.now(), bracket.entry_id, bracket.entry.signal_id, action, reason, role,
            client_order_id, quantity))
