"""`AuditLog`: one JSON line per decision, for operators tailing and grepping.

Every line has the same leading keys — `ts, event, signal_id, client_order_id, handler,
decision, reason` — then the event's own details. `ts` is the engine clock's time, so a
replay's audit log is byte-for-byte repeatable. Written through loguru (rotation,
retention and compression as configured) with `catch=False`: a failing sink raises, the
bus turns that into a `SystemError`, and the metrics count it — nothing is dropped
silently.

Cheap on the hot path, as a backtest writes nine lines per order: a line is encoded by
orjson (compact JSON, keys in the order above), and the lines go to loguru in batches:
one call per decision where a decision must be on disk when it ends (live, a durable
journal), one per `batch_lines` in a replay, where loguru's per-call cost (about 50 µs)
would otherwise be paid per signal.

`observers` get each batch's lines once it is written, as written: the live event stream
(`server/event_hub.py`) serves exactly the file's lines without formatting them again.
With none (replays, `ordergate run`) a flush costs one test of an empty list more.

Here: `AuditLog`, which subscribes each event to its line. The lines are
`AuditLines` (`audit_lines.py`); the buffer, the loguru sink and the fsync are
`AuditSink` (`audit_sink.py`); a line's encoding and `EVENT_NAMES` are
`audit_encoding.py`. Their names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ordergate.bus import EventBus
from ordergate.clock import Clock
from ordergate.config import AuditSettings
from ordergate.events import (
    InstrumentInferred, OrderAdopted, OrderFilled, OrderOpenAtShutdown, OrderTransitioned,
    OrderUnresolved, PositionAdopted, PositionChanged, PositionClosed,
    PositionOpened, ReconciliationDrift, SignalAdmitted, SignalInvalid, SignalRejected,
    SlippageExceeded, SystemError, TradingSignalGenerated, TradingStateChanged,
    VenueCallFailed, VenueCallRecovered, VenueCircuitChanged, VenueDisabled,
)
from ordergate.events import BracketChanged, InstrumentRulesChanged, VenueClockResynced
from ordergate.events import OrderModifyRejected, OrderUpdated, StopTriggered
from ordergate.events import AlgorithmFinished, AlgorithmStarted, AlgorithmWaiting, SliceSent
from ordergate.events import AccountStatusChanged, AllocationCompletion, AllocationDecided
from ordergate.events import AllocationFailover, ChildSignal
from ordergate.subscribers.audit_encoding import EVENT_NAMES, _dumps, _escaping, encode_line
from ordergate.subscribers.audit_lines import DISPLAY, AuditLines
from ordergate.subscribers.audit_sink import AuditSink, _instances

__all__ = [
    "DISPLAY", "EVENT_NAMES", "AuditLines", "AuditLog", "AuditSink", "_dumps", "_escaping",
    "_instances", "encode_line",
]


class AuditLog(AuditLines):
    def __init__(self, bus: EventBus, settings: AuditSettings, clock: Clock,
                 path: Path | None = None, batch_lines: int = 1) -> None:
        super().__init__(settings, clock, path, batch_lines)
        routes: dict[type, Callable[[Any], None]] = {
            TradingSignalGenerated: self._signal,
            SignalInvalid: self._invalid,
            SignalAdmitted: self._admitted,
            SignalRejected: self._rejected,
            OrderTransitioned: self._transition,
            OrderFilled: self._fill,
            OrderUnresolved: self._unresolved,
            OrderOpenAtShutdown: self._open_at_shutdown,
            SlippageExceeded: self._slippage,
            PositionOpened: self._position,
            PositionChanged: self._position,
            PositionClosed: self._position,
            InstrumentInferred: self._inferred,
            VenueCircuitChanged: self._circuit,
            SystemError: self._system_error,
            ReconciliationDrift: self._drift,
            TradingStateChanged: self._trading_state,
            OrderAdopted: self._order_adopted,
            PositionAdopted: self._position_adopted,
            VenueCallFailed: self._venue_failed,
            VenueCallRecovered: self._venue_recovered,
            VenueDisabled: self._venue_disabled,
            InstrumentRulesChanged: self._rules_changed,
            VenueClockResynced: self._clock_resynced,
            BracketChanged: self._bracket,
            AlgorithmStarted: self._algorithm_started,
            SliceSent: self._slice_sent,
            AlgorithmWaiting: self._algorithm_waiting,
            AlgorithmFinished: self._algorithm_finished,
            OrderUpdated: self._order_updated,
            OrderModifyRejected: self._modify_rejected,
            StopTriggered: self._stop_triggered,
            AllocationDecided: self._allocation_decided,
            AllocationFailover: self._allocation_failover,
            AccountStatusChanged: self._account_status,
            AllocationCompletion: self._allocation_completion,
            ChildSignal: self._child_signal,
        }
        for event_type, receiver in routes.items():
            bus.subscribe(event_type, receiver)
