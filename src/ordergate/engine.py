"""`Engine`: the pipeline, its venues, journal and subscribers, wired together.

This is what a decision engine talks to in-process: `await engine.submit(signal)`.
The same engine runs live (wall clock, real venues) and in replay (simulated clock and
venue); only the clock and the venue adapters differ.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from ordergate.algorithms.bracket_manager import BracketManager
from ordergate.allocation.blocks import BlockAllocator
from ordergate.allocation.day_book import DayBook
from ordergate.allocation.eligibility import AccountStatus
from ordergate.allocation.pauses import Pauses
from ordergate.allocation.standing import StandingReader
from ordergate.bus import EventBus
from ordergate.clock import Clock
from ordergate.config import EngineConfig
from ordergate.domain.exposure import ExposureView
from ordergate.domain.instrument import Instrument
from ordergate.domain.signal import SignalParseError, TradingSignalGenerated
from ordergate.domain.values import TradingState
from ordergate.events import (
    InstrumentInferred, ReconciliationDrift, SignalInvalid, SignalRejected, SystemError,
    TradingStateChanged, VenueCircuitChanged, VenueDisabled,
)
from ordergate.events import AccountStatusChanged, ChildSignal, InstrumentRulesChanged
from ordergate.journal.order_journal import OrderJournal
from ordergate.pipeline.amend import AmendOutcome, Amender
from ordergate.pipeline.chain import Handler, Outcome, Pipeline, SignalContext
from ordergate.pipeline.execute import Executor
from ordergate.pipeline.order_ledger import OrderLedger
from ordergate.pipeline.reasons import ReasonCode
from ordergate.pipeline.reconcile import Reconciler
from ordergate.market import EngineMarket
from ordergate.pipeline.risk import RiskManager, beyond_reduce_only
from ordergate.pipeline.stop_emulator import StopEmulator
from ordergate.pipeline.validate import Validator
from ordergate.reconciliation.cold_start import ColdStart
from ordergate.reconciliation.drift_check import DriftCheck
from ordergate.recovery import Recovery
from ordergate.subscribers.audit_log import AuditLog
from ordergate.subscribers.engine_gauges import EngineGauges
from ordergate.subscribers.metrics import Metrics
from ordergate.subscribers.positions import PositionTracker
from ordergate.subscribers.run_summary import RunSummary
from ordergate.supervision import Supervisor
from ordergate.algorithms.twap_runner import TwapRunner
from ordergate.venues.base import VenueAdapter, VenueError
from ordergate.venues.market_data import MarketData
from ordergate.venues.registry import build_venue
from ordergate.venues.guarded import GuardedVenue, guard_venue, unwrap
from ordergate.venues.simulated import SimulatedVenue


class Engine:
    def __init__(self, config: EngineConfig, clock: Clock, *,
                 venues: dict[str, VenueAdapter] | None = None,
                 market: MarketData | None = None,
                 journal_path: Path | None = None, audit_path: Path | None = None,
                 durable: bool | None = None, deferred_indexes: bool = False) -> None:
        """`deferred_indexes`: a backtest's journal builds its lookup indexes at close
        (`OrderJournal`); nothing else differs from live."""
        self.config, self.clock = config, clock
        self.bus = bus = EventBus()
        self.positions = PositionTracker(bus)
        self.metrics = Metrics(bus)
        self.summary = RunSummary(bus)
        j = config.journal
        durable = j.durable if durable is None else durable
        # Live, a decision's lines are written when it ends; a replay writes them in batches.
        self.audit = AuditLog(bus, config.audit, clock, audit_path,
                              batch_lines=1 if durable else 1024)
        self.supervisor = Supervisor(bus, clock, self._disable_venue)
        bus.subscribe(SystemError, self._on_system_error)
        self.journal = OrderJournal(journal_path or j.path, durable=durable,
                                    batch_size=j.batch_size, deferred_indexes=deferred_indexes)
        self.ledger = OrderLedger(self.journal, bus, clock, config.reconciler.finished_order_grace_s,
                                  on_drift=self._drifted)
        if self.journal.durable:  # live: what led to a send is on disk before it leaves
            self.ledger.before_send.append(self.audit.flush_for_sync)
        self.venues = venues if venues is not None else {
            name: guard_venue(
                build_venue(name, settings, clock, market=market, on_inferred=self._inferred,
                            on_event=bus.publish),
                clock, kind=settings.kind, breaker=settings.breaker,
                rate_limit=settings.rate_limit, on_transition=self._circuit_changed)
            for name, settings in config.venues.items()
        }
        enabled = {name: config.venues[name].enabled if name in config.venues else True
                   for name in self.venues}
        self.exposures = ExposureView(self.ledger.working, self.positions.quantity,
                                      self.positions.open_symbols)
        self.market = EngineMarket(self.venues, enabled, self.positions, self.exposures, clock)
        self.market.reference_max_age = {
            name: timedelta(seconds=settings.reference_max_age_s)
            for name, settings in config.venues.items() if settings.reference_max_age_s > 0}
        for venue in self.venues.values():  # wall-clock latencies of real venue requests
            if isinstance(venue, GuardedVenue):
                venue.observe = self.metrics
        self.journal.on_commit = self.metrics.journal_committed
        self.metrics.registry.register(EngineGauges(
            self.ledger.live_orders, self.positions, lambda: self.risk.trading_state,
            lambda: self.venues))
        self.validator = Validator(config.validator)
        self.risk = RiskManager(config.risk)
        self.executor = Executor(config.executor, self.ledger, clock)
        ex = config.executor
        self.reconciler = Reconciler(config.reconciler, self.ledger, clock, ex.lookup_attempts,
                                     ex.resend_after_s + ex.clock_skew_margin_s,
                                     troubles=self.supervisor)
        self.brackets = BracketManager(
            config.brackets, self.ledger, self.executor, self.reconciler, bus, clock,
            self.venues, self._instrument, lambda: self.risk.trading_state, self._drifted)
        self.executor.on_open.append(self.brackets.opened)
        self.stops = StopEmulator(  # holds the stops of venues that emulate them
            {name: v.stops for name, v in config.venues.items()}, config.stops,
            config.brackets, self.ledger, self.executor, self.reconciler, bus, clock,
            self.venues, self._instrument, lambda: self.risk.trading_state,
            self.positions.quantity, troubles=self.supervisor,
            on_exit_refused=self.brackets.exit_refused)
        self.brackets.stops_emulated = self.stops.emulates
        self.amender = Amender(  # an amend is checked for what it adds, as a signal is
            self.ledger, self.executor, self.reconciler, bus, clock, self._instrument,
            lambda: self.risk.trading_state,
            risk=lambda order, instrument, rest, price, filled: self.risk.check_amend(
                self.market, order, instrument, rest, price, filled))
        self.twap = TwapRunner(self.ledger, self.executor, self.reconciler, self.venues, bus,
                               clock, lambda: self.risk.trading_state, self.positions.quantity)
        self.executor.algorithm = self.twap.start
        self.days = DayBook(self.journal, clock, config.allocation.day_starts_at_utc_hour)
        self.pauses = Pauses([name for name, account in config.accounts.items()
                              if account.status is AccountStatus.PAUSED], config.accounts,
                             {name: group.accounts for name, group in config.groups.items()},
                             self.journal)
        self.blocks = BlockAllocator(
            config.accounts, config.groups, self.journal, self.market,
            StandingReader(self.market, self.positions.quantity, self.days,
                           self.pauses.is_paused),
            self.days, bus, clock, self._run_child, self.ledger.get,
            config.allocation.completion, config.allocation.failover_fraction,
            group_paused=self.pauses.groups.__contains__,
            account_paused=self.pauses.is_paused)
        handlers: dict[str, Handler] = {"validator": self.validator, "risk": self.risk,
                                        "executor": self.executor, "reconciler": self.reconciler}
        self.pipeline = Pipeline([handlers[name] for name in config.pipeline.handlers], bus, clock)
        self.recovery = Recovery(self.ledger, self.positions, self.executor, self.reconciler,
                                 clock, lambda: self.risk.trading_state, config.recovery,
                                 ex.submit_deadline_s)
        rs = config.reconciliation
        self.cold_start = ColdStart(rs, self.ledger, self.reconciler, self.positions, bus,
                                    self.market.instruments, clock, self._drifted)
        self.drift_check = DriftCheck(rs, self.ledger, self.reconciler, self.positions,
                                      self.market.instruments, clock, self._drifted,
                                      ex.resend_after_s + ex.clock_skew_margin_s,
                                      troubles=self.supervisor)
        self._simulated = [v for v in map(unwrap, self.venues.values())
                           if isinstance(v, SimulatedVenue)]
        self._refresh_due: dict[str, datetime] = {}
        self.last_tick_at: datetime | None = None
        """When the control loop last finished a tick (the HTTP health check shows it)."""
        self._reconcile_due: datetime | None = None
        self._tick_steps = (self._advance_simulated, self.stops.check_triggers,
                            self._refresh_due_instruments,
                            self.reconciler.poll, self._enforce_trading_state, self.twap.run_due,
                            self._reconcile_if_due)
        bus.subscribe(InstrumentRulesChanged, self._rules_changed)

    async def start(self) -> None:
        """Load every enabled venue's instruments, then recover: from the journal on a warm
        start (positions from its fills, unfinished orders checked against their venue,
        `recovery.py`), from the venues on a cold one (an empty journal adopts their open
        orders and balances, `reconciliation/cold_start.py`); then reconcile every venue.
        A venue that cannot load is disabled (its signals are refused with VENUE_DISABLED)
        rather than stopping the others."""
        for name, venue in self.venues.items():
            if not self.market.enabled.get(name):
                continue
            try:
                self.market.instruments[name] = await venue.load_instruments()
            except VenueError as exc:
                self._disable_venue(name, f"its instruments could not be loaded at start: "
                                    f"{type(exc).__name__}: {exc}")
            self._schedule_refresh(name)
        cold = self.journal.is_empty()
        self.cold_start.restore()
        self.recovery.rebuild_positions()
        await self.recovery.recover_orders(self.venues)
        self.amender.restore(self.venues)  # amends a restart interrupted: finished or unwound
        self.stops.restore()  # held stops armed again: never sent, never looked up
        self.brackets.restore()  # adjusted (missing exits placed) at the settle below
        self.twap.resume()  # after recovery: the slices it follows are never sent again
        await self.blocks.resume()  # blocks a kill interrupted: the children not yet sent
        if cold and self.config.reconciliation.cold_start == "adopt":
            await self.cold_start.adopt(self._enabled_venues())
        await self.reconcile()
        await self._settle()

    async def reconcile(self) -> list[ReconciliationDrift]:
        """Compare every enabled venue with the journal and positions now (`drift_check.py`);
        returns the drift newly found. The live engine runs this every
        `reconciliation.interval_s` from `tick()`."""
        found: list[ReconciliationDrift] = []
        for name, venue in self._enabled_venues().items():
            found += await self.drift_check.run(name, venue)
        interval = self.config.reconciliation.interval_s
        self._reconcile_due = self.clock.now() + timedelta(seconds=interval) if interval else None
        return found

    async def cancel(self, client_order_id: str, reason: str = "cancel requested") -> bool:
        """Cancel one of our orders at its venue; safe to call again (and on an order that
        has just filled: the venue's answer decides). False: no such working order.
        A TWAP parent's ID cancels the parent as a whole (no further slice, the working
        ones cancelled); a block's ID the block (no completion or failover any more, its
        working children cancelled)."""
        if await self.twap.cancel(client_order_id, reason):
            await self._settle()
            return True
        if await self.blocks.cancel(client_order_id, reason, self.cancel):
            await self._settle()
            return True
        order = self.ledger.get(client_order_id)
        if order is None or order.status.is_terminal or order.venue not in self.venues:
            return False
        self.brackets.release(client_order_id, reason)  # an exit: its bracket stops placing
        self.blocks.release(client_order_id)  # a block's child: its remainder not completed
        await self.reconciler.cancel(self.venues[order.venue], order, reason)
        await self._settle()
        return True

    async def set_account_status(self, name: str, status: AccountStatus | str, reason: str,
                                 by: str = "", cancel_working: bool = False) -> tuple[str, ...]:
        """Pause or resume an account or a group (`allocation/pauses.py`): paused, it takes
        no new child of a block; `cancel_working` also cancels the working orders of the
        accounts it covers. Audited (`account_status`) with `by` and `reason`, also when
        nothing changed but orders were cancelled. Returns the orders cancelled. Raises
        `KeyError` for a name config does not know, `ValueError` for another status."""
        kind = self.pauses.kind(name)
        if kind is None:
            raise KeyError(name)
        target = AccountStatus(status)
        changed = self.pauses.set(name, target, reason, by, self.clock.now())
        cancelled: list[str] = []
        if cancel_working and target is AccountStatus.PAUSED:
            members = set(self.pauses.members(name))
            for order in list(self.ledger.live_orders()):
                if order.account_id in members and await self.cancel(
                        order.client_order_id, f"{kind} {name} paused: {reason}"):
                    cancelled.append(order.client_order_id)
        if changed or cancelled:
            self.bus.publish(AccountStatusChanged(self.clock.now(), name, kind, target.value,
                                                  reason, by, tuple(cancelled)))
            await self._settle()  # audited, and the pause on disk, before the answer
            if self.journal.durable:
                self.journal.commit()
        return tuple(cancelled)

    async def amend(self, client_order_id: str, quantity: Decimal | None = None,
                    price: Decimal | None = None) -> AmendOutcome:
        """Change a working order's total quantity and/or limit price: the venue's atomic
        replace where it has one and nothing of the leg has filled, an explicit, journaled
        cancel-then-replace otherwise (`pipeline/amend.py`). The outcome names the new leg,
        or why nothing changed (a `ReasonCode`; the order is as it was)."""
        order = self.ledger.get(client_order_id)
        venue = self.venues.get(order.venue) if order is not None else None
        if order is None or venue is None:
            status = self.journal.order_status(client_order_id)
            why = (f"order {client_order_id} is {status}: only a working order can be amended"
                   if status else f"no order {client_order_id}")
            return AmendOutcome(False, ReasonCode.AMEND_NOT_WORKING, why, None)
        outcome = await self.amender.amend(venue, order, quantity, price)
        await self._settle()
        return outcome

    def set_trading_state(self, state: TradingState | str, reason: str, by: str = "") -> None:
        """Move the kill switch (ACTIVE, REDUCING, HALTED); audited when it changes.

        Anything but one of those three words raises `ValueError` ("halted" is not a
        state, and never means ACTIVE). Moving to REDUCING also cancels, at the next tick
        and every tick after while REDUCING, the working orders that would grow or flip
        a position (`risk.reducing_cancels_orders`). `by` names the operator (the HTTP
        token's name) in the audit line; empty when a policy moved it."""
        target = state if isinstance(state, TradingState) else TradingState.parse(state)
        previous = self.risk.trading_state
        if previous is not target:
            self.risk.trading_state = target
            self.bus.publish(TradingStateChanged(self.clock.now(), previous, target, reason, by))

    async def _enforce_reduce_only(self) -> None:
        """REDUCING: cancel every working order a fill of which could grow or flip its
        position (`risk.beyond_reduce_only` says which); one still being sent is
        cancelled at a later tick, once the venue has it."""
        # A bracket's exits are left working: they only reduce, and the pair (one cancels the
        # other) would otherwise be counted twice against the position it protects.
        live = [o for o in self.ledger.live_orders() if not o.reduce_only]
        for order, reason in beyond_reduce_only(live, self.positions.quantity):
            venue = self.venues.get(order.venue)
            if venue is not None:
                await self.reconciler.cancel(venue, order, reason)

    def _drifted(self, drift: ReconciliationDrift) -> None:
        self.bus.publish(drift)
        policy = self.config.reconciliation.on_drift
        why = f"reconciliation drift at {drift.venue}: {drift.kind} {drift.subject}"
        if policy == "halt":
            self.set_trading_state(TradingState.HALTED, why)
        elif policy == "reduce" and self.risk.trading_state is TradingState.ACTIVE:
            self.set_trading_state(TradingState.REDUCING, why)

    def _on_system_error(self, error: SystemError) -> None:
        """The policy for anything that raised unexpectedly (`supervision.on_error`)."""
        if self.config.supervision.on_error == "halt":
            self.set_trading_state(TradingState.HALTED, f"unexpected error in {error.source}: "
                                   f"{error.error}")

    def _disable_venue(self, name: str, reason: str) -> None:
        if self.market.enabled.get(name):
            self.market.enabled[name] = False
            self.market.disabled_reasons[name] = reason
            self.bus.publish(VenueDisabled(self.clock.now(), name, reason))

    def _enabled_venues(self) -> dict[str, VenueAdapter]:
        return {name: venue for name, venue in self.venues.items() if self.market.enabled.get(name)}

    async def submit(self, signal: TradingSignalGenerated) -> Outcome:
        """Run one signal through the chain. Never raises for a bad signal: the outcome
        (and the audit log) says what happened."""
        self.metrics.signal_in()
        if self.blocks.is_block(signal):  # a group's: shared out, each child through the chain
            self.bus.publish(signal)
            try:
                outcome = await self.blocks.submit(signal)
            except Exception as exc:  # noqa: BLE001 - supervised, as a handler's crash is
                outcome = self._decision_crashed(
                    SignalContext(signal, self.clock.now(), self.market), exc)
        else:
            self.bus.publish(signal)
            outcome, _ = await self._run(signal)
        await self._settle()
        return outcome

    async def _run_child(self, signal: TradingSignalGenerated,
                         parent_id: str) -> tuple[Outcome, SignalContext]:
        """One child of a block through the chain: announced as the block's child (a
        `child_signal` line, not a signal received: the block was)."""
        self.bus.publish(ChildSignal(self.clock.now(), parent_id, signal))
        return await self._run(signal)

    async def _run(self, signal: TradingSignalGenerated) -> tuple[Outcome, SignalContext]:
        """One signal through the chain, a crash supervised."""
        ctx = SignalContext(signal, self.clock.now(), self.market)
        try:
            outcome = await self.pipeline.process(ctx)
        except Exception as exc:  # noqa: BLE001 - a bug must not end the engine: supervised
            outcome = self._decision_crashed(ctx, exc)
        return outcome, ctx

    def _decision_crashed(self, ctx: SignalContext, exc: Exception) -> Outcome:
        """A handler raised. The error is a `system_error` (and by policy halts trading);
        the signal still gets an answer: refused with INTERNAL_ERROR if nothing was sent,
        or, if its order exists, that order followed like any other."""
        signal_id = ctx.signal.signal_id
        self.supervisor.crashed("pipeline", exc, signal_id=signal_id)
        why = f"internal error: {type(exc).__name__}: {exc}"
        order = ctx.order
        if order is None:
            self.bus.publish(SignalRejected(self.clock.now(), signal_id, "engine",
                                            ReasonCode.INTERNAL_ERROR.value, why))
            return Outcome(False, "engine", why, ReasonCode.INTERNAL_ERROR, None)
        if not order.status.is_terminal and ctx.venue is not None:
            self.reconciler.follow(ctx.venue, order)
        return Outcome(True, "engine", f"{why}; order {order.client_order_id} is {order.status} "
                       "and followed", ReasonCode.INTERNAL_ERROR, order)

    def reject_invalid(self, error: SignalParseError, line: int | None = None) -> None:
        self.bus.publish(SignalInvalid(self.clock.now(), error.field, error.reason,
                                       error.signal_id, line))
        self.audit.end_of_decision()

    async def tick(self) -> None:
        """Let time act: resting simulated orders meet new quotes; followed orders are
        polled, cancelled at their timeouts and dates; instruments reloaded and venues
        reconciled when due. Never raises: each step is supervised (`supervision.py`), so
        one that fails is audited (and by policy halts trading) and the others still run,
        this tick and the next."""
        for step in self._tick_steps:
            try:
                await step()
            except Exception as exc:  # noqa: BLE001 - supervised: audited, counted, by policy halts
                self.supervisor.crashed(f"tick.{step.__name__.lstrip('_')}", exc)
        await self._settle()
        self.last_tick_at = self.clock.now()

    async def _advance_simulated(self) -> None:
        for venue in self._simulated:
            venue.advance()
        self.ledger.evict_finished()  # memory follows what is working, also with no new signal

    async def _refresh_due_instruments(self) -> None:
        now = self.clock.now()
        for name, due in list(self._refresh_due.items()):
            if now >= due:
                await self._refresh_instruments(name)

    async def _enforce_trading_state(self) -> None:
        if (self.risk.trading_state is TradingState.REDUCING
                and self.config.risk.reducing_cancels_orders):
            await self._enforce_reduce_only()

    async def _reconcile_if_due(self) -> None:
        if self._reconcile_due is not None and self.clock.now() >= self._reconcile_due:
            await self.reconcile()

    async def settle(self) -> None:
        """End a decision made outside the pipeline (an operator's kill-switch move over
        HTTP, a supervised crash in the server): its events delivered, audited, committed."""
        await self._settle()

    async def _settle(self) -> None:
        """The end of a decision: subscribers done, audit lines written, journal committed
        (durable mode). Audit first: a kill between the two repeats a line on the next
        start (recovery sees the order again) instead of losing it. Brackets answer the
        decision's fills first (their exits are part of it), supervised like a tick step."""
        await self.bus.drain()
        if self.amender.pending or self.brackets.pending or self.blocks.pending:  # rarely
            for name, follower in (("amend", self.amender), ("brackets", self.brackets),
                                   ("blocks", self.blocks)):
                if follower.pending:
                    try:
                        await follower.run()
                    except Exception as exc:  # noqa: BLE001 - supervised: audited, counted, by policy halts
                        self.supervisor.crashed(name, exc)
                    await self.bus.drain()
        self.audit.end_of_decision()
        self.journal.commit_if_durable()

    async def _refresh_instruments(self, name: str) -> None:
        """Reload a venue's rules; on failure keep the ones we have and try again later."""
        before = dict(self.market.instruments.get(name, {}))
        try:
            self.market.instruments[name] = await self.venues[name].load_instruments()
        except VenueError as exc:
            self.supervisor.venue_failed(name, "load_instruments", exc)  # the old rules stay
        else:
            self.supervisor.venue_ok(name, "load_instruments")
            self._announce_rule_changes(name, before, "scheduled refresh of the venue's rules")
        finally:
            self._schedule_refresh(name)

    def _announce_rule_changes(self, name: str, before: dict[str, Instrument], why: str) -> None:
        """An `InstrumentRulesChanged` for every symbol whose rules are not what they were
        (audited as `instrument_rules_changed`, counted)."""
        after = self.market.instruments.get(name, {})
        for symbol in sorted(before.keys() & after.keys()):
            if before[symbol] != after[symbol]:
                self.bus.publish(InstrumentRulesChanged(self.clock.now(), name, symbol,
                                                        before[symbol], after[symbol], why))

    def _rules_changed(self, event: InstrumentRulesChanged) -> None:
        """A venue changed a symbol's rules (its adapter found out, or a refresh did): the
        validator and executor use the new ones from the next signal on."""
        rules = self.market.instruments.get(event.venue)
        if rules is not None:
            rules[event.symbol] = event.new

    def _instrument(self, venue: str, symbol: str) -> Instrument | None:
        return self.market.instruments.get(venue, {}).get(symbol)

    def _schedule_refresh(self, name: str) -> None:
        settings = self.config.venues.get(name)
        if settings is not None and settings.kind != "simulated":
            self._refresh_due[name] = self.clock.now() + timedelta(seconds=settings.instruments_refresh_s)

    def venue_orders_per_client_id(self) -> dict[str, int]:
        """Venue-side order counts per client order ID, where the venue can tell (simulated)."""
        counts: dict[str, int] = {}
        for venue in self._simulated:
            for client_order_id, n in venue.orders_per_client_id.items():
                counts[client_order_id] = counts.get(client_order_id, 0) + n
        return counts

    async def close(self) -> None:
        for venue in self.venues.values():
            await venue.close()
        self.journal.close()
        self.audit.close()

    def _circuit_changed(self, venue: str, from_state: str, to_state: str, reason: str,
                         ts: datetime) -> None:
        self.bus.publish(VenueCircuitChanged(ts, venue, str(from_state), str(to_state), reason))

    def _inferred(self, instrument: Instrument) -> None:
        self.bus.publish(InstrumentInferred(self.clock.now(), instrument.venue, instrument.symbol,
                                            instrument.tick_size, instrument.lot_size,
                                            instrument.min_notional))
