"""`Metrics`: Prometheus counters for everything an operator alerts on, and histograms of
the latencies an operator watches: signal in to venue request out, each venue request by
method and outcome, send to first fill, journal commits.

Each engine has its own registry (tests and replays do not share counters); `render()`
gives the text exposition format for a scrape endpoint or a file. Every label comes from
configuration or a closed vocabulary (venue names, methods, outcomes, statuses), never
from a signal's text, so a sender cannot create time series without bound. The wall-clock
latencies are measured with `time.perf_counter` (they are about this process, not about
the market's time); send-to-fill is measured on the engine's clock (its event times), so
it means the same in a replay.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.registry import Collector

from ordergate.bus import EventBus
from ordergate.domain.order import OrderStatus
from ordergate.domain.signal import SIGNAL_FIELDS
from ordergate.events import (
    AllocationCompletion, AllocationDecided, AllocationFailover, OrderFilled, OrderPlaced, OrderTransitioned, OrderUnresolved, ReconciliationDrift, SignalInvalid,
    SignalRejected, SlippageExceeded, SystemError, TradingSignalGenerated, TradingStateChanged,
    VenueCallFailed, VenueCircuitChanged, VenueDisabled,
)
from ordergate.events import InstrumentRulesChanged, StopTriggered, VenueClockResynced
from ordergate.subscribers.tallies import Tally, TallyHistogram
from ordergate.venues.request_timing import RequestOutcome, VenueMethod


_FIELD_LABELS = SIGNAL_FIELDS | {"json", "signal"}
_FAST = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
_REQUEST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_FILL = (0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 3600.0)


C = TypeVar("C", bound=Collector)


def _registered(registry: CollectorRegistry, collector: C) -> C:
    registry.register(collector)
    return collector


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
        # Moved by every signal: tallies, not prometheus_client's locked counters
        # (`subscribers/tallies.py`); the same families when scraped.
        self.signals = _registered(r, Tally("ordergate_signals", "Signals received"))
        self.invalid = Counter("ordergate_signals_invalid", "Signals that failed to parse",
                               ["field"], registry=r)
        self.rejected = Counter("ordergate_signals_rejected", "Signals refused by a handler",
                                ["handler", "code"], registry=r)
        self.transitions = _registered(r, Tally("ordergate_order_transitions",
                                                "Order status changes", ["status"]))
        self.fills = _registered(r, Tally("ordergate_fills", "Fills applied"))
        self._signal_count, self._fill_count = self.signals.cell(), self.fills.cell()
        self.unresolved = Counter("ordergate_orders_unresolved", "Sends with no answer", registry=r)
        self.slippage = Counter("ordergate_slippage_breaches", "Fills beyond slippage tolerance",
                                registry=r)
        self.errors = Counter("ordergate_system_errors",
                              "Unexpected exceptions (subscribers, decisions, the control loop)",
                              ["source"], registry=r)
        bus.subscribe(TradingSignalGenerated, self._signal)
        bus.subscribe(SignalInvalid, lambda e: self.invalid.labels(invalid_field_label(e.field)).inc())
        bus.subscribe(SignalRejected, lambda e: self.rejected.labels(e.handler, e.code).inc())
        self._by_status = {status: self.transitions.cell(status.value) for status in OrderStatus}
        bus.subscribe(OrderTransitioned, self._transitioned)
        bus.subscribe(OrderPlaced, self._placed)
        bus.subscribe(OrderFilled, self._filled)
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
        self.stops_triggered = Counter(
            "ordergate_stops_triggered", "Held (emulated) stops whose trigger was crossed, by "
            "what became of them (sent, refused by the kill switch, waiting)",
            ["venue", "outcome"], registry=r)
        bus.subscribe(StopTriggered,
                      lambda e: self.stops_triggered.labels(e.venue, e.outcome.value).inc())

        self.blocks = Counter(
            "ordergate_blocks", "Blocks (signals naming a group) by outcome: allocated, or "
            "refused with its reason code", ["group", "outcome"], registry=r)
        bus.subscribe(AllocationDecided,
                      lambda e: self.blocks.labels(e.group, e.code or "allocated").inc())
        self.block_actions = Counter(
            "ordergate_block_actions", "What blocks did after their split: failovers and "
            "completions, placed or not", ["action", "placed"], registry=r)
        bus.subscribe(AllocationFailover, lambda e: self.block_actions.labels(
            "failover", str(e.to_account is not None).lower()).inc())
        bus.subscribe(AllocationCompletion, lambda e: self.block_actions.labels(
            "completion", str(e.to_account is not None).lower()).inc())

        self.signal_to_request = _registered(r, TallyHistogram(
            "ordergate_signal_to_request_seconds",
            "From a signal entering the engine to its order's request leaving for the venue "
            "(wall clock; venues behind guards)", ["venue"], buckets=_FAST))
        self.venue_requests = _registered(r, TallyHistogram(
            "ordergate_venue_request_seconds", "Venue requests by method and outcome (wall clock)",
            ["venue", "method", "outcome"], buckets=_REQUEST))
        self.fill_latency = _registered(r, TallyHistogram(
            "ordergate_fill_latency_seconds",
            "From an order's send to its first fill (the engine's clock)", ["venue"],
            buckets=_FILL))
        self.journal_commits = _registered(r, TallyHistogram(
            "ordergate_journal_commit_seconds", "Journal commits (wall clock; durable mode: "
            "one before every send, with its fsync)", buckets=_FAST))
        self._commits = self.journal_commits.series()
        # etcd's wal_fsync_duration_seconds: the disk's part of a commit, which no code
        # change makes shorter; when a send's barrier is slow, this says whether it is.
        self.journal_fsyncs = _registered(r, TallyHistogram(
            "ordergate_journal_fsync_seconds", "fsyncs that make the journal's commits "
            "durable (wall clock; the disk's part of a commit before a send)", buckets=_FAST))
        self._fsyncs = self.journal_fsyncs.series()
        self._sent: dict[str, tuple[str, datetime]] = {}  # working orders awaiting a first fill
        self._signal_in: float | None = None

    # ------------------------------------------------------------------ latencies

    def signal_in(self) -> None:
        """A signal has entered the engine (`Engine.submit`)."""
        self._signal_in = time.perf_counter()

    def request_leaving(self, venue: str, method: VenueMethod) -> None:
        if method is VenueMethod.PLACE_ORDER and self._signal_in is not None:
            self.signal_to_request.series(venue).observe(time.perf_counter() - self._signal_in)
            self._signal_in = None  # a resend of the same order is not a new signal's

    def request_answered(self, venue: str, method: VenueMethod, outcome: RequestOutcome,
                         seconds: float) -> None:
        self.venue_requests.series(venue, method.value, outcome.value).observe(seconds)

    def journal_committed(self, seconds: float) -> None:
        self._commits.observe(seconds)

    def journal_fsynced(self, seconds: float) -> None:
        self._fsyncs.observe(seconds)

    def _placed(self, e: OrderPlaced) -> None:
        self._sent[e.client_order_id] = (e.venue, e.ts)

    def _signal(self, e: TradingSignalGenerated) -> None:
        self._signal_count[0] += 1

    def _filled(self, e: OrderFilled) -> None:
        self._fill_count[0] += 1
        sent = self._sent.pop(e.fill.client_order_id, None)
        if sent is not None:
            self.fill_latency.series(sent[0]).observe(max(0.0, (e.ts - sent[1]).total_seconds()))

    def _transitioned(self, e: OrderTransitioned) -> None:
        self._by_status[e.to_status][0] += 1
        # Ended without a fill still to come: forgotten. FILLED is published just before
        # the fill that filled it (`OrderLedger.apply_trade`), which `_filled` takes.
        if e.to_status.is_terminal and e.to_status is not OrderStatus.FILLED:
            self._sent.pop(e.client_order_id, None)

    def _clock_resynced(self, e: VenueClockResynced) -> None:
        self.clock_resyncs.labels(e.venue).inc()
        self.clock_offset.labels(e.venue).set(e.offset_ms / 1000)

    def render(self) -> str:
        return generate_latest(self.registry).decode()
