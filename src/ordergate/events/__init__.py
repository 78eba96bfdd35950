"""Every event the engine publishes, named in the past tense.

Events are immutable, slotted dataclasses (the signal, being the boundary input, is a
pydantic model). They are built on the hot path many times per signal, so they carry
plain values, never the mutable `Order` itself.

Split by concern; every event is imported from here, `ordergate.events` (the classes
themselves, so nothing is added between a publisher and an event):

- `base`: `Event`, the time every event carries;
- `signals`: a signal's verdicts (invalid, admitted, rejected);
- `orders`: an order's life, and its amendments;
- `fills`: fills, slippage, and the positions they build;
- `venues`: a venue's circuit breaker, instruments, clock, and its taking out of use;
- `supervision`: unexpected exceptions, background venue calls failing and recovering,
  and the kill switch;
- `reconciliation`: drift, and what a cold start adopts from the venue;
- `algorithms`: brackets, execution algorithms (TWAP) and emulated stops;
- `allocation`: blocks shared over a group's accounts, and accounts paused.
"""

from ordergate.domain.signal import TradingSignalGenerated
from ordergate.events.algorithms import (
    AlgorithmFinished,
    AlgorithmStarted,
    AlgorithmWaiting,
    BracketChanged,
    SliceSent,
    StopTriggered,
)
from ordergate.events.allocation import (
    AccountStatusChanged,
    AllocationCompletion,
    AllocationDecided,
    AllocationFailover,
    ChildSignal,
)
from ordergate.events.base import Event
from ordergate.events.fills import (
    OrderFilled,
    PositionChanged,
    PositionClosed,
    PositionEvent,
    PositionOpened,
    SlippageExceeded,
)
from ordergate.events.orders import (
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFailed,
    OrderModifyRejected,
    OrderOpenAtShutdown,
    OrderPlaced,
    OrderTransitioned,
    OrderUnresolved,
    OrderUpdated,
)
from ordergate.events.reconciliation import OrderAdopted, PositionAdopted, ReconciliationDrift
from ordergate.events.signals import SignalAdmitted, SignalInvalid, SignalRejected
from ordergate.events.supervision import (
    SystemError,
    TradingStateChanged,
    VenueCallFailed,
    VenueCallRecovered,
)
from ordergate.events.venues import (
    InstrumentInferred,
    InstrumentRulesChanged,
    VenueCircuitChanged,
    VenueClockResynced,
    VenueDisabled,
)

__all__ = [
    "Event", "TradingSignalGenerated", "SignalInvalid", "SignalAdmitted", "SignalRejected",
    "OrderPlaced", "OrderTransitioned", "OrderAccepted", "OrderFilled", "OrderFailed",
    "OrderCancelled", "OrderExpired", "OrderUnresolved", "OrderOpenAtShutdown", "SlippageExceeded",
    "PositionEvent", "PositionOpened", "PositionChanged", "PositionClosed", "InstrumentInferred",
    "VenueCircuitChanged", "SystemError", "ReconciliationDrift", "TradingStateChanged",
    "PositionAdopted", "OrderAdopted", "VenueCallFailed", "VenueCallRecovered", "VenueDisabled",
    "InstrumentRulesChanged", "VenueClockResynced", "BracketChanged",
    "AlgorithmStarted", "SliceSent", "AlgorithmWaiting", "AlgorithmFinished",
    "OrderUpdated", "OrderModifyRejected", "StopTriggered", "AllocationDecided",
    "AllocationFailover", "AccountStatusChanged", "AllocationCompletion",
    "ChildSignal",
]
