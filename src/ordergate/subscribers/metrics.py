"""`Metrics`: Prometheus counters for everything an operator alerts on.

Each engine has its own registry (tests and replays do not share counters); `render()`
gives the text exposition format for a scrape endpoint or a file.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, generate_latest

from ordergate.bus import EventBus
from ordergate.domain.order import OrderStatus
from ordergate.domain.signal import SIGNAL_FIELDS
from ordergate.events import (
    OrderFilled, OrderTransitioned, OrderUnresolved, ReconciliationDrift, SignalInvalid,
    SignalRejected, SlippageExceeded, SystemError, TradingSignalGenerated, TradingStateChanged,
    VenueCircuitChanged,
)


_FIELD_LABELS = SIGNAL_FIELDS | {"json", "signal"}


def invalid_field_label(field: str) -> str:
    """The `field` label of `ordergate_signals_invalid`: a signal field's name, `json`,
    `signal`, or `unknown_field`. The field of an error is the sender's text when the key
    is unknown, and every distinct label value is a new time series: a sender must not be
    able to create them without bound. The audit line keeps the name itself."""
    name = field.split(".", 1)[0]
    return name if name in _FIELD_LABELS else "unknown_field"


class Metrics:
    def __init__(self, bus: EventBus) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.signals = Counter("ordergate_signals", "Signals received", registry=r)
        self.invalid = Counter("ordergate_signals_invalid", "Signals that failed to parse",
                               ["field"], registry=r)
        self.rejected = Counter("ordergate_signals_rejected", "Signals refused by a handler",
                                ["handler", "code"], registry=r)
        self.transitions = Counter("ordergate_order_transitions", "Order status changes",
                                   ["status"], registry=r)
        self.fills = Counter("ordergate_fills", "Fills applied", registry=r)
        self.unresolved = Counter("ordergate_orders_unresolved", "Sends with no answer", registry=r)
        self.slippage = Counter("ordergate_slippage_breaches", "Fills beyond slippage tolerance",
                                registry=r)
        self.errors = Counter("ordergate_system_errors", "Subscriber failures", ["source"], registry=r)
        bus.subscribe(TradingSignalGenerated, lambda e: self.signals.inc())
        bus.subscribe(SignalInvalid, lambda e: self.invalid.labels(invalid_field_label(e.field)).inc())
        bus.subscribe(SignalRejected, lambda e: self.rejected.labels(e.handler, e.code).inc())
        by_status = {status: self.transitions.labels(status.value) for status in OrderStatus}
        bus.subscribe(OrderTransitioned, lambda e: by_status[e.to_status].inc())
        bus.subscribe(OrderFilled, lambda e: self.fills.inc())
        bus.subscribe(OrderUnresolved, lambda e: self.unresolved.inc())
        bus.subscribe(SlippageExceeded, lambda e: self.slippage.inc())
        bus.subscribe(SystemError, lambda e: self.errors.labels(e.source).inc())
        self.circuit = Counter("ordergate_venue_circuit_transitions",
                               "Circuit breaker state changes", ["venue", "to_state"], registry=r)
        bus.subscribe(VenueCircuitChanged,
                      lambda e: self.circuit.labels(e.venue, e.to_state).inc())
        self.drift = Counter("ordergate_reconciliation_drift", "Disagreements with a venue",
                             ["venue", "kind"], registry=r)
        bus.subscribe(ReconciliationDrift, lambda e: self.drift.labels(e.venue, e.kind).inc())
        self.trading_state = Counter("ordergate_trading_state_changes",
                                     "Kill switch moves", ["to_state"], registry=r)
        bus.subscribe(TradingStateChanged, lambda e: self.trading_state.labels(e.to_state).inc())

    def render(self) -> str:
        return generate_latest(self.registry).decode()
