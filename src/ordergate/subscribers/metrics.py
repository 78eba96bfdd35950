"""`Metrics`: Prometheus counters for everything an operator alerts on.

Each engine has its own registry (tests and replays do not share counters); `render()`
gives the text exposition format for a scrape endpoint or a file.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from ordergate.bus import EventBus
from ordergate.domain.order import OrderStatus
from ordergate.domain.signal import SIGNAL_FIELDS
from ordergate.events import (
    OrderFilled, OrderTransitioned, OrderUnresolved, ReconciliationDrift, SignalInvalid,
    SignalRejected, SlippageExceeded, SystemError, TradingSignalGenerated, TradingStateChanged,
    VenueCallFailed, VenueCircuitChanged, VenueDisabled,
)
from ordergate.events import InstrumentRulesChanged, VenueClockResynced


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
        self.errors = Counter("ordergate_system_errors",
                              "Unexpected exceptions (subscribers, decisions, the control loop)",
                              ["source"], registry=r)
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
        # Labelled by venue only (configured, so bounded); the symbol is in the audit line.
        self.rules_changes = Counter("ordergate_instrument_rules_changes",
                                     "Symbols whose trading rules changed at a venue",
                                     ["venue"], registry=r)
        bus.subscribe(InstrumentRulesChanged, lambda e: self.rules_changes.labels(e.venue).inc())
        self.clock_resyncs = Counter("ordergate_venue_clock_resyncs",
                                     "Clock differences re-measured after a refused timestamp",
                                     ["venue"], registry=r)
        self.clock_offset = Gauge("ordergate_venue_clock_offset_seconds",
                                  "Our clock minus the venue's, as last measured",
                                  ["venue"], registry=r)
        bus.subscribe(VenueClockResynced, self._clock_resynced)
        self.venue_errors = Counter("ordergate_venue_error_episodes",
                                    "Background venue calls that started failing (once per episode)",
                                    ["venue", "operation"], registry=r)
        bus.subscribe(VenueCallFailed,
                      lambda e: self.venue_errors.labels(e.venue, e.operation).inc())
        self.venues_disabled = Counter("ordergate_venues_disabled", "Venues taken out of use",
                                       ["venue"], registry=r)
        bus.subscribe(VenueDisabled, lambda e: self.venues_disabled.labels(e.venue).inc())

    def _clock_resynced(self, e: VenueClockResynced) -> None:
        self.clock_resyncs.labels(e.venue).inc()
        self.clock_offset.labels(e.venue).set(e.offset_ms / 1000)

    def render(self) -> str:
        return generate_latest(self.registry).decode()
