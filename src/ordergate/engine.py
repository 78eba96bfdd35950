"""`Engine`: the pipeline, its venues, journal and subscribers, wired together.

This is what a decision engine talks to in-process: `await engine.submit(signal)`.
The same engine runs live (wall clock, real venues) and in replay (simulated clock and
venue); only the clock and the venue adapters differ.

Here: `Engine`, what a caller uses (start, submit, cancel, amend, the kill switch, pauses,
settle, close) and the end of a decision (`_settle`). Its parts, and how they are
connected, are its base `EngineWiring` (`engine_wiring.py`); the tick's steps are
`EngineTicks` (`engine_ticks.py`), between the two. Their names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from ordergate.allocation.eligibility import AccountStatus
from ordergate.domain.signal import SignalParseError, TradingSignalGenerated
from ordergate.domain.values import TradingState
from ordergate.engine_ticks import EngineTicks
from ordergate.engine_wiring import EngineWiring
from ordergate.events import SignalInvalid, SignalRejected, TradingStateChanged
from ordergate.events import AccountStatusChanged, ChildSignal
from ordergate.journal.wal_sync import DeferredEnd
from ordergate.pipeline.amend import AmendOutcome
from ordergate.pipeline.chain import Outcome, SignalContext
from ordergate.pipeline.reasons import ReasonCode
from ordergate.venues.base import VenueError

__all__ = ["Engine", "EngineTicks", "EngineWiring"]


class Engine(EngineTicks):
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

    async def settle(self) -> None:
        """End a decision made outside the pipeline (an operator's kill-switch move over
        HTTP, a supervised crash in the server): its events delivered, audited, committed."""
        await self._settle()

    @contextmanager
    def decision_end_deferred(self) -> Iterator[DeferredEnd]:
        """Within: the end of each decision (its last audit lines written, the journal
        committed) waits, for the caller to hand it to the next barrier (`handed_over`: the
        HTTP API's answer waits for that barrier, `journal/wal_sync.py`). Not handed over
        (an answer not stored), or left by an exception, it comes on leaving."""
        end = DeferredEnd()
        self._end_deferred = True
        try:
            yield end
        finally:
            self._end_deferred = False
            if not end.handed_over:
                self._end_of_decision()

    def _end_of_decision(self) -> None:
        self.audit.end_of_decision()
        self.journal.commit_if_durable()

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
        if not self._end_deferred:
            self._end_of_decision()

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
