"""`EngineWiring`: the engine's parts, built and connected (a base of `Engine`).

The pipeline (validator, risk, executor, reconciler), what carries orders on after their
decision (brackets, emulated stops, amends, TWAP), the block allocator, the venues (each
guarded: breaker, rate limit), the journal and its ledger, the subscribers (positions,
metrics, run summary, audit log), supervision, restart recovery and reconciliation: each
made once, in `__init__`, and handed what it needs of the others. With them, the
callbacks the parts are handed: the policy on a drift and on an unexpected error, a venue
disabled, a breaker's move, an inferred instrument, changed rules.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

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
from ordergate.domain.signal import TradingSignalGenerated
from ordergate.domain.values import TradingState
from ordergate.events import (
    InstrumentInferred, InstrumentRulesChanged, ReconciliationDrift, SystemError,
    VenueCircuitChanged, VenueDisabled,
)
from ordergate.journal.order_journal import OrderJournal
from ordergate.pipeline.amend import Amender
from ordergate.pipeline.chain import Handler, Outcome, Pipeline, SignalContext
from ordergate.pipeline.execute import Executor
from ordergate.pipeline.order_ledger import OrderLedger
from ordergate.pipeline.reconcile import Reconciler
from ordergate.market import EngineMarket
from ordergate.pipeline.risk import RiskManager
from ordergate.pipeline.stop_emulator import StopEmulator
from ordergate.pipeline.validate import Validator
from ordergate.reconciliation.cold_start import ColdStart
from ordergate.reconciliation.drift_check import DriftCheck
from ordergate.recovery import Recovery
from ordergate.subscribers.audit_durability import restore_audit
from ordergate.subscribers.audit_log import AuditLog
from ordergate.subscribers.engine_gauges import EngineGauges
from ordergate.subscribers.metrics import Metrics
from ordergate.subscribers.positions import PositionTracker
from ordergate.subscribers.run_summary import RunSummary
from ordergate.supervision import Supervisor
from ordergate.algorithms.twap_runner import TwapRunner
from ordergate.venues.base import VenueAdapter
from ordergate.venues.market_data import MarketData
from ordergate.venues.registry import build_venue
from ordergate.venues.guarded import GuardedVenue, guard_venue, unwrap
from ordergate.venues.simulated import SimulatedVenue


class EngineWiring:
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
        self.journal = OrderJournal(journal_path or j.path, durable=durable,
                                    batch_size=j.batch_size, deferred_indexes=deferred_indexes)
        # What the audit file lost of the journal's rows (a power loss) goes back first.
        if rows := self.journal.audit_rows():
            restore_audit(audit_path or config.audit.path, rows)
            self.journal.clear_audit()
        # Live, a decision's lines are written when it ends; a replay writes them in batches.
        self.audit = AuditLog(bus, config.audit, clock, audit_path,
                              batch_lines=1 if durable else 1024)
        self.supervisor = Supervisor(bus, clock, self._disable_venue)
        self._end_deferred = False  # `Engine.decision_end_deferred`
        bus.subscribe(SystemError, self._on_system_error)
        self.ledger = OrderLedger(self.journal, bus, clock, config.reconciler.finished_order_grace_s,
                                  on_drift=self._drifted)
        if self.journal.durable:  # live: what led to a send is on disk before it leaves,
            # its audit lines in the journal's commit (one fsync), the file fsync'ed after
            self.audit.keep_in(self.journal)
            self.ledger.before_send.append(self.audit.flush_for_sync)
            # an HTTP answer no send covered: the same barrier, audit lines first
            self.journal.wal_sync.barrier = self.ledger.barrier_now
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
        self.journal.on_fsync = self.metrics.journal_fsynced
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

    def _rules_changed(self, event: InstrumentRulesChanged) -> None:
        """A venue changed a symbol's rules (its adapter found out, or a refresh did): the
        validator and executor use the new ones from the next signal on."""
        rules = self.market.instruments.get(event.venue)
        if rules is not None:
            rules[event.symbol] = event.new

    def _instrument(self, venue: str, symbol: str) -> Instrument | None:
        return self.market.instruments.get(venue, {}).get(symbol)

    def _circuit_changed(self, venue: str, from_state: str, to_state: str, reason: str,
                         ts: datetime) -> None:
        self.bus.publish(VenueCircuitChanged(ts, venue, str(from_state), str(to_state), reason))

    def _inferred(self, instrument: Instrument) -> None:
        self.bus.publish(InstrumentInferred(self.clock.now(), instrument.venue, instrument.symbol,
                                            instrument.tick_size, instrument.lot_size,
                                            instrument.min_notional))

    if TYPE_CHECKING:  # handed to the parts above; defined by `Engine` and `EngineTicks`
        def set_trading_state(self, state: TradingState | str, reason: str,
                              by: str = "") -> None: ...

        async def _run_child(self, signal: TradingSignalGenerated,
                             parent_id: str) -> tuple[Outcome, SignalContext]: ...

        async def _advance_simulated(self) -> None: ...

        async def _refresh_due_instruments(self) -> None: ...

        async def _enforce_trading_state(self) -> None: ...

        async def _reconcile_if_due(self) -> None: ...
