"""`AuditLines`: the line each event becomes (its decision, its reason, its details),
one method per event, each written through the sink (`AuditSink._write`); `DISPLAY`, the
places derived money is shown to. `AuditLog` subscribes each to its event.
"""

from __future__ import annotations

from decimal import Decimal

from ordergate.events import (
    InstrumentInferred, OrderAdopted, OrderFilled, OrderOpenAtShutdown, OrderTransitioned,
    OrderUnresolved, PositionAdopted, PositionChanged, PositionClosed, PositionEvent,
    PositionOpened, ReconciliationDrift, SignalAdmitted, SignalInvalid, SignalRejected,
    SlippageExceeded, SystemError, TradingSignalGenerated, TradingStateChanged,
    VenueCallFailed, VenueCallRecovered, VenueCircuitChanged, VenueDisabled,
)
from ordergate.domain.values import BracketAction, StopOutcome
from ordergate.events import BracketChanged, InstrumentRulesChanged, VenueClockResynced
from ordergate.events import OrderModifyRejected, OrderUpdated, StopTriggered
from ordergate.events import AlgorithmFinished, AlgorithmStarted, AlgorithmWaiting, SliceSent
from ordergate.events import AccountStatusChanged, AllocationCompletion, AllocationDecided
from ordergate.events import AllocationFailover, ChildSignal
from ordergate.clock import isoformat
from ordergate.subscribers.audit_sink import AuditSink

DISPLAY = Decimal("0.00000001")  # derived money (averages, PnL) is shown to 8 places
_POSITION_LINES: dict[type, tuple[str, str]] = {
    PositionOpened: ("position_opened", "opened"), PositionChanged: ("position_changed", "changed"),
    PositionClosed: ("position_closed", "closed")}
"""A position event's line: its `event` and its `decision` (one a fill, so made once)."""


class AuditLines(AuditSink):
    def _signal(self, e: TradingSignalGenerated) -> None:
        size = e.quantity if e.quantity is not None else "auto-sized"
        at = f" @ {e.limit_price}" if e.limit_price is not None else ""
        if e.trigger_price is not None:
            at += f" triggered at {e.trigger_price}"
        self._write(self._clock.now(), "signal_received", e.signal_id, None, None, "received",
                    f"{e.side} {size} {e.symbol}{at} {e.order_type} on {e.venue}",
                    strategy_id=e.strategy_id, account_id=e.account_id, signal_ts=isoformat(e.ts))

    def _invalid(self, e: SignalInvalid) -> None:
        self._write(e.ts, "signal_invalid", e.signal_id, None, "boundary", "invalid",
                    f"{e.field}: {e.reason}", warn=True, field=e.field, line=e.line)

    def _admitted(self, e: SignalAdmitted) -> None:
        self._write(e.ts, "handler_verdict", e.signal_id, None, e.handler, "admit", e.reason)

    def _rejected(self, e: SignalRejected) -> None:
        self._write(e.ts, "handler_verdict", e.signal_id, None, e.handler, "deny", e.reason, code=e.code)

    def _transition(self, e: OrderTransitioned) -> None:
        if e.code:  # a coded refusal (POST_ONLY_WOULD_TAKE): greppable as a denial's code
            self._write(e.ts, "order_transition", e.signal_id, e.client_order_id, None,
                        e.to_status, e.reason, from_status=e.from_status, code=e.code)
            return
        self._write(e.ts, "order_transition", e.signal_id, e.client_order_id, None,
                    e.to_status, e.reason, from_status=e.from_status)

    def _fill(self, e: OrderFilled) -> None:
        f = e.fill
        self._write(e.ts, "fill", e.signal_id, f.client_order_id, None,
                    "partial_fill" if e.is_partial else "fill",
                    f"{f.side} {f.quantity} {f.symbol} @ {f.price} ({f.liquidity})",
                    trade_id=f.trade_id, symbol=f.symbol, price=f.price, quantity=f.quantity,
                    fee=f.fee, fee_currency=f.fee_currency, filled=e.filled_quantity,
                    remaining=e.remaining)

    def _unresolved(self, e: OrderUnresolved) -> None:
        self._write(e.ts, "order_unresolved", e.signal_id, e.client_order_id, "executor",
                    "unresolved", e.reason, warn=True)

    def _open_at_shutdown(self, e: OrderOpenAtShutdown) -> None:
        self._write(e.ts, "order_open_at_shutdown", e.signal_id, e.client_order_id, "engine",
                    e.status.value, e.reason, warn=True)

    def _slippage(self, e: SlippageExceeded) -> None:
        self._write(e.ts, "slippage_exceeded", e.signal_id, e.client_order_id, "reconciler",
                    "warning", f"average {e.average_price} vs expected {e.expected_price}: "
                    f"{e.slippage:.4%} > {e.tolerance:.2%}", warn=True,
                    slippage=e.slippage.quantize(Decimal("0.000001")))

    def _position(self, e: PositionEvent) -> None:
        entry = e.average_entry.quantize(DISPLAY)
        name, decision = _POSITION_LINES[type(e)]
        self._write(e.ts, name, None, e.client_order_id, None, decision,
                    f"{e.symbol} {e.quantity} @ {entry}", account_id=e.account_id,
                    venue=e.venue, symbol=e.symbol, quantity=e.quantity, average_entry=entry,
                    realized_pnl=e.realized_pnl.quantize(DISPLAY), trade_id=e.trade_id)

    def _inferred(self, e: InstrumentInferred) -> None:
        self._write(e.ts, "instrument_inferred", None, None, "venue", "inferred",
                    f"{e.symbol} not configured at {e.venue}: tick {e.tick_size} (finest price "
                    f"increment in the data), lot {e.lot_size}, min notional {e.min_notional}",
                    venue=e.venue, symbol=e.symbol)

    def _circuit(self, e: VenueCircuitChanged) -> None:
        self._write(e.ts, "venue_circuit", None, None, "venue", e.to_state,
                    f"{e.venue}: {e.from_state} -> {e.to_state}: {e.reason}",
                    warn=e.to_state != "closed", venue=e.venue, from_state=e.from_state)

    def _system_error(self, e: SystemError) -> None:
        during = f"while handling {e.event_type}" if e.event_type else f"in {e.source}"
        self._write(e.ts, "system_error", e.signal_id, None, e.source, "error",
                    f"{e.error} {during}", warn=True, where=e.where)

    def _venue_failed(self, e: VenueCallFailed) -> None:
        about = f" for {e.subject}" if e.subject else ""
        self._write(e.ts, "venue_error", None, None, "venue", "failing",
                    f"{e.venue} {e.operation}{about} failing: {e.error}; retried at every poll, "
                    "reported again when it answers", warn=True, venue=e.venue,
                    operation=e.operation, subject=e.subject)

    def _venue_recovered(self, e: VenueCallRecovered) -> None:
        about = f" for {e.subject}" if e.subject else ""
        self._write(e.ts, "venue_error", None, None, "venue", "recovered",
                    f"{e.venue} {e.operation}{about} answers again after {e.failures} failed "
                    f"call(s) over {e.seconds:.1f}s (last: {e.last_error})", venue=e.venue,
                    operation=e.operation, subject=e.subject, failures=e.failures)

    def _venue_disabled(self, e: VenueDisabled) -> None:
        self._write(e.ts, "venue_disabled", None, None, "venue", "disabled",
                    f"{e.venue} disabled: {e.reason}; its signals are refused (VENUE_DISABLED)",
                    warn=True, venue=e.venue)

    def _drift(self, e: ReconciliationDrift) -> None:
        self._write(e.ts, "reconciliation_drift", None, None, "reconciliation", e.kind,
                    f"{e.detail} (ours: {e.ours}; {e.venue}: {e.venues})", warn=True,
                    venue=e.venue, account_id=e.account_id, subject=e.subject, ours=e.ours,
                    venues=e.venues)

    def _bracket(self, e: BracketChanged) -> None:
        """Lineage: `entry_id` on every line, the exit's own ID (and role) where one is
        concerned, so `audit explain` of the signal shows entry -> exits."""
        details: dict[str, object] = {"entry_id": e.entry_id}
        if e.role is not None:
            details["role"] = e.role
        if e.quantity is not None:
            details["protected"] = e.quantity
        self._write(e.ts, "bracket", e.signal_id, e.client_order_id or e.entry_id, "brackets",
                    e.action, e.reason,
                    warn=e.action in (BracketAction.UNPROTECTED, BracketAction.OVERFILLED),
                    **details)

    def _trading_state(self, e: TradingStateChanged) -> None:
        self._write(e.ts, "trading_state", None, None, "risk", e.to_state,
                    f"{e.from_state} -> {e.to_state}: {e.reason}",
                    warn=e.to_state != "ACTIVE", from_state=e.from_state,
                    **({"by": e.by} if e.by else {}))

    def _order_adopted(self, e: OrderAdopted) -> None:
        self._write(e.ts, "order_adopted", e.signal_id, e.client_order_id, "reconciliation",
                    e.status.value, f"open at {e.venue} on a cold start: {e.symbol} filled "
                    f"{e.filled_quantity} of {e.quantity}", warn=True, venue=e.venue,
                    symbol=e.symbol)

    def _position_adopted(self, e: PositionAdopted) -> None:
        self._write(e.ts, "position_adopted", None, None, "reconciliation", "adopted",
                    f"{e.symbol} {e.quantity} held at {e.venue} on a cold start, marked at "
                    f"{e.mark}", warn=True, account_id=e.account_id, venue=e.venue,
                    symbol=e.symbol, quantity=e.quantity, mark=e.mark)

    def _rules_changed(self, e: InstrumentRulesChanged) -> None:
        old, new = e.old, e.new
        self._write(e.ts, "instrument_rules_changed", None, None, "venue", "changed",
                    f"{e.symbol} at {e.venue}: tick {old.tick_size} -> {new.tick_size}, lot "
                    f"{old.lot_size} -> {new.lot_size}, min quantity {old.min_quantity} -> "
                    f"{new.min_quantity}, min notional {old.min_notional} -> {new.min_notional} "
                    f"({e.why})", warn=True, venue=e.venue, symbol=e.symbol,
                    old_tick_size=old.tick_size, new_tick_size=new.tick_size,
                    old_lot_size=old.lot_size, new_lot_size=new.lot_size,
                    old_min_quantity=old.min_quantity, new_min_quantity=new.min_quantity,
                    old_min_notional=old.min_notional, new_min_notional=new.min_notional,
                    why=e.why)

    def _clock_resynced(self, e: VenueClockResynced) -> None:
        ahead = "ahead of" if e.offset_ms >= 0 else "behind"
        self._write(e.ts, "venue_clock_resynced", None, None, "venue", "resynced",
                    f"{e.venue}: our clock is {abs(e.offset_ms)} ms {ahead} the venue's; "
                    f"{e.reason}", warn=True, venue=e.venue, offset_ms=e.offset_ms)

    # ------------------------------------------------------------ execution algorithms:
    # every line names the parent, and a slice's line its leg: parent -> slices lineage.

    def _algorithm_started(self, e: AlgorithmStarted) -> None:
        self._write(e.ts, "algorithm_started", e.signal_id, e.parent_id, "executor", "started",
                    e.reason, algorithm=e.algorithm, quantity=str(e.quantity),
                    slices=e.slices, duration_s=str(e.duration_s),
                    cap=None if e.cap is None else str(e.cap))

    def _slice_sent(self, e: SliceSent) -> None:
        self._write(e.ts, "slice_sent", e.signal_id, e.client_order_id, "algorithm",
                    e.status.value, f"slice {e.leg} of {e.parent_id}: {e.quantity}",
                    parent_id=e.parent_id, leg=e.leg, quantity=str(e.quantity))

    def _algorithm_waiting(self, e: AlgorithmWaiting) -> None:
        self._write(e.ts, "algorithm_waiting", e.signal_id, e.parent_id, "algorithm",
                    "waiting", f"slice {e.leg} due, not sent: {e.reason}", leg=e.leg)

    def _algorithm_finished(self, e: AlgorithmFinished) -> None:
        self._write(e.ts, "algorithm_finished", e.signal_id, e.parent_id, "algorithm",
                    e.status, f"{e.reason}; filled {e.filled_quantity} of {e.quantity}",
                    quantity=str(e.quantity), filled_quantity=str(e.filled_quantity))

    # ------------------------------------------------------------ amend: old leg -> new leg

    def _order_updated(self, e: OrderUpdated) -> None:
        self._write(e.ts, "order_updated", e.signal_id, e.client_order_id, "amend", "replaced",
                    e.reason, new_client_order_id=e.new_client_order_id,
                    quantity=str(e.quantity), price=None if e.price is None else str(e.price))

    def _allocation_decided(self, e: AllocationDecided) -> None:
        self._write(e.ts, "allocation_decided", e.signal_id, None, "allocator",
                    "refused" if e.code else "allocated", e.reason, warn=e.code is not None,
                    parent_id=e.parent_id, group=e.group, policy=e.policy, code=e.code,
                    quantity=None if e.quantity is None else str(e.quantity),
                    children=[[a, None if q is None else str(q)] for a, q in e.children])

    def _allocation_failover(self, e: AllocationFailover) -> None:
        self._write(e.ts, "allocation_failover", e.signal_id, None, "allocator",
                    "rerouted" if e.to_account else "not_rerouted", e.reason, warn=True,
                    parent_id=e.parent_id, from_account=e.from_account,
                    to_account=e.to_account,
                    quantity=None if e.quantity is None else str(e.quantity))

    def _child_signal(self, e: ChildSignal) -> None:
        c = e.signal
        size = c.quantity if c.quantity is not None else "auto-sized"
        self._write(e.ts, "child_signal", c.signal_id, None, "allocator", "child",
                    f"child of block {e.parent_id} for {c.account_id}: {c.side} {size} "
                    f"{c.symbol} {c.order_type} on {c.venue}", parent_id=e.parent_id,
                    account_id=c.account_id)

    def _allocation_completion(self, e: AllocationCompletion) -> None:
        self._write(e.ts, "allocation_completion", e.signal_id, e.ended_order_id, "allocator",
                    "completed" if e.to_account else "not_completed", e.reason,
                    parent_id=e.parent_id, to_account=e.to_account, attempt=e.attempt,
                    quantity=None if e.quantity is None else str(e.quantity))

    def _account_status(self, e: AccountStatusChanged) -> None:
        self._write(e.ts, "account_status", None, None, "allocator", e.status,
                    f"{e.kind} {e.name} {e.status}: {e.reason}", warn=e.status == "paused",
                    name=e.name, kind=e.kind, by=e.by, cancelled=list(e.cancelled))

    def _modify_rejected(self, e: OrderModifyRejected) -> None:
        self._write(e.ts, "order_modify_rejected", e.signal_id, e.client_order_id, "amend",
                    "rejected", e.reason, code=e.code)

    # ------------------------------------------------------------ emulated stops

    def _stop_triggered(self, e: StopTriggered) -> None:
        details: dict[str, object] = {"venue": e.venue, "symbol": e.symbol, "side": e.side,
                                      "trigger_price": str(e.trigger_price),
                                      "reference": str(e.reference),
                                      "reference_ts": e.reference_ts.isoformat()}
        if e.sent_as is not None:
            details["sent_as"] = e.sent_as
        if e.price is not None:
            details["price"] = str(e.price)
        if e.code:
            details["code"] = e.code
        self._write(e.ts, "stop_triggered", e.signal_id, e.client_order_id, "stops",
                    e.outcome, e.reason, warn=e.outcome is not StopOutcome.SENT, **details)
