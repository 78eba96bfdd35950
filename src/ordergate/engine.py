"""`Engine`: the pipeline, its venues, journal and subscribers, wired together.

This is what a decision engine talks to in-process: `await engine.submit(signal)`.
The same engine runs live (wall clock, real venues) and in replay (simulated clock and
venue); only the clock and the venue adapters differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from ordergate.bus import EventBus
from ordergate.clock import Clock
from ordergate.config import EngineConfig
from ordergate.domain.instrument import Instrument
from ordergate.domain.signal import SignalParseError, TradingSignalGenerated
from ordergate.events import (
    InstrumentInferred, ReconciliationDrift, SignalInvalid, TradingStateChanged,
    VenueCircuitChanged,
)
from ordergate.events import InstrumentRulesChanged
from ordergate.journal.order_journal import OrderJournal
from ordergate.pipeline.chain import Handler, Outcome, Pipeline, SignalContext
from ordergate.pipeline.execute import Executor
from ordergate.pipeline.order_ledger import OrderLedger
from ordergate.pipeline.reconcile import Reconciler
from ordergate.pipeline.risk import RiskManager
from ordergate.pipeline.validate import Validator
from ordergate.reconciliation.cold_start import ColdStart
from ordergate.reconciliation.drift_check import DriftCheck
from ordergate.recovery import Recovery
from ordergate.subscribers.audit_log import AuditLog
from ordergate.subscribers.metrics import Metrics
from ordergate.subscribers.positions import PositionTracker
from ordergate.subscribers.run_summary import RunSummary
from ordergate.venues.base import VenueAdapter, VenueError
from ordergate.venues.market_data import MarketData
from ordergate.venues.registry import build_venue
from ordergate.venues.guarded import guard_venue, unwrap
from ordergate.venues.simulated import SimulatedVenue


@dataclass(slots=True)
class _CachedEquity:
    value: Decimal | None
    until: datetime


@dataclass(slots=True)
class EngineMarket:
    """The engine's answer to `MarketAccess`: venues, instruments, prices, positions."""

    venues: dict[str, VenueAdapter]
    enabled: dict[str, bool]
    positions: PositionTracker
    clock: Clock
    equity_ttl: timedelta = timedelta(seconds=5)
    instruments: dict[str, dict[str, Instrument]] = field(default_factory=dict)
    _equity: dict[tuple[str, str, str], _CachedEquity] = field(default_factory=dict)

    def venue(self, name: str) -> VenueAdapter | None:
        return self.venues.get(name)

    def venue_enabled(self, name: str) -> bool:
        return self.enabled.get(name, False)

    def instrument(self, venue: str, symbol: str) -> Instrument | None:
        return self.instruments.get(venue, {}).get(symbol)

    async def reference_price(self, venue: str, symbol: str) -> Decimal | None:
        try:
            return (await self.venues[venue].fetch_ticker(symbol)).mid
        except VenueError:
            return None

    async def equity(self, account_id: str, venue: str, currency: str) -> Decimal | None:
        key, now = (account_id, venue, currency), self.clock.now()
        cached = self._equity.get(key)
        if cached is not None and now < cached.until:
            return cached.value
        try:
            balance = (await self.venues[venue].fetch_balances(account_id)).get(currency)
        except VenueError:
            return None
        value = None if balance is None else balance.total
        self._equity[key] = _CachedEquity(value, now + self.equity_ttl)
        return value

    def position_quantity(self, account_id: str, venue: str, symbol: str) -> Decimal:
        return self.positions.quantity(account_id, venue, symbol)

    def open_position_count(self, account_id: str) -> int:
        return self.positions.open_count(account_id)


class Engine:
    def __init__(self, config: EngineConfig, clock: Clock, *,
                 venues: dict[str, VenueAdapter] | None = None,
                 market: MarketData | None = None,
                 journal_path: Path | None = None, audit_path: Path | None = None,
                 durable: bool | None = None) -> None:
        self.config, self.clock = config, clock
        self.bus = bus = EventBus()
        self.positions = PositionTracker(bus)
        self.metrics = Metrics(bus)
        self.summary = RunSummary(bus)
        self.audit = AuditLog(bus, config.audit, clock, audit_path)
        j = config.journal
        self.journal = OrderJournal(journal_path or j.path,
                                    durable=j.durable if durable is None else durable,
                                    batch_size=j.batch_size)
        self.ledger = OrderLedger(self.journal, bus, clock, config.reconciler.finished_order_grace_s)
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
        self.market = EngineMarket(self.venues, enabled, self.positions, clock)
        self.validator = Validator(config.validator)
        self.risk = RiskManager(config.risk)
        self.executor = Executor(config.executor, self.ledger, clock)
        ex = config.executor
        self.reconciler = Reconciler(config.reconciler, self.ledger, clock, ex.lookup_attempts,
                                     ex.resend_after_s + ex.clock_skew_margin_s)
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
                                      ex.resend_after_s + ex.clock_skew_margin_s)
        self._simulated = [v for v in map(unwrap, self.venues.values())
                           if isinstance(v, SimulatedVenue)]
        self._refresh_due: dict[str, datetime] = {}
        self._reconcile_due: datetime | None = None
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
            except VenueError:
                self.market.enabled[name] = False
            self._schedule_refresh(name)
        cold = self.journal.is_empty()
        self.cold_start.restore()
        self.recovery.rebuild_positions()
        await self.recovery.recover_orders(self.venues)
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
        has just filled: the venue's answer decides). False: no such working order."""
        order = self.ledger.get(client_order_id)
        if order is None or order.status.is_terminal or order.venue not in self.venues:
            return False
        await self.reconciler.cancel(self.venues[order.venue], order, reason)
        await self._settle()
        return True

    def set_trading_state(self, state: str, reason: str) -> None:
        """Move the kill switch (ACTIVE, REDUCING, HALTED); audited when it changes."""
        previous = self.risk.trading_state
        if previous != state:
            self.risk.trading_state = state
            self.bus.publish(TradingStateChanged(self.clock.now(), previous, state, reason))

    def _drifted(self, drift: ReconciliationDrift) -> None:
        self.bus.publish(drift)
        policy = self.config.reconciliation.on_drift
        why = f"reconciliation drift at {drift.venue}: {drift.kind} {drift.subject}"
        if policy == "halt":
            self.set_trading_state("HALTED", why)
        elif policy == "reduce" and self.risk.trading_state == "ACTIVE":
            self.set_trading_state("REDUCING", why)

    def _enabled_venues(self) -> dict[str, VenueAdapter]:
        return {name: venue for name, venue in self.venues.items() if self.market.enabled.get(name)}

    async def submit(self, signal: TradingSignalGenerated) -> Outcome:
        """Run one signal through the chain. Never raises for a bad signal: the outcome
        (and the audit log) says what happened."""
        self.bus.publish(signal)
        outcome = await self.pipeline.process(SignalContext(signal, self.clock.now(), self.market))
        await self._settle()
        return outcome

    def reject_invalid(self, error: SignalParseError, line: int | None = None) -> None:
        self.bus.publish(SignalInvalid(self.clock.now(), error.field, error.reason,
                                       error.signal_id, line))
        self.audit.flush()

    async def tick(self) -> None:
        """Let time act: resting simulated orders meet new quotes; followed orders are polled."""
        for venue in self._simulated:
            venue.advance()
        now = self.clock.now()
        for name, due in self._refresh_due.items():
            if now >= due:
                await self._refresh_instruments(name)
        await self.reconciler.poll()
        if self._reconcile_due is not None and now >= self._reconcile_due:
            await self.reconcile()
        await self._settle()

    async def _settle(self) -> None:
        """The end of a decision: subscribers done, audit lines written, journal committed
        (durable mode). Audit first: a kill between the two repeats a line on the next
        start (recovery sees the order again) instead of losing it."""
        await self.bus.drain()
        self.audit.flush()
        self.journal.commit_if_durable()

    async def _refresh_instruments(self, name: str) -> None:
        """Reload a venue's rules; on failure keep the ones we have and try again later."""
        before = dict(self.market.instruments.get(name, {}))
        try:
            self.market.instruments[name] = await self.venues[name].load_instruments()
        except VenueError:
            pass
        self._announce_rule_changes(name, before, "scheduled refresh of the venue's rules")
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
