"""`EngineTicks`: what the control loop's tick does (a base of `Engine`, on
`EngineWiring`).

Each step is supervised on its own (`tick`): resting simulated orders meet new quotes,
emulated stops are checked, instruments reloaded when due (their changed rules
announced), followed orders polled, the kill switch's REDUCING enforced (working orders
that would grow or flip a position cancelled), TWAP slices sent when due, and every
enabled venue reconciled every `reconciliation.interval_s` (`reconcile`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from ordergate.domain.instrument import Instrument
from ordergate.domain.values import TradingState
from ordergate.engine_wiring import EngineWiring
from ordergate.events import InstrumentRulesChanged, ReconciliationDrift
from ordergate.pipeline.risk import beyond_reduce_only
from ordergate.venues.base import VenueError


class EngineTicks(EngineWiring):
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

    def _schedule_refresh(self, name: str) -> None:
        settings = self.config.venues.get(name)
        if settings is not None and settings.kind != "simulated":
            self._refresh_due[name] = self.clock.now() + timedelta(seconds=settings.instruments_refresh_s)

    if TYPE_CHECKING:  # the end of a decision, defined by `Engine`
        async def _settle(self) -> None: ...
