"""Gauges read from the engine when `/metrics` is scraped: working orders, positions,
the trading state, each venue's breaker state and rate-limit tokens.

Read at scrape time rather than kept up to date on every order, so they cost a backtest
nothing. Labels are bounded: accounts, venues and symbols appear only where an account
has a working order or an open position, which the risk manager's `max_open_positions`
bounds; states are closed vocabularies, each exported as 1 for the current state and 0
for the others (the Prometheus idiom for an enum). Values are floats because Prometheus'
are: this is monitoring output, never read back into a decision.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ordergate.domain.order import Order
from ordergate.domain.values import TradingState
from ordergate.subscribers.positions import PositionTracker
from ordergate.venues.base import VenueAdapter
from ordergate.venues.circuit_breaker import BreakerState
from ordergate.venues.guarded import GuardedVenue


class EngineGauges(Collector):
    def __init__(self, working_orders: Callable[[], Iterable[Order]], positions: PositionTracker,
                 trading_state: Callable[[], TradingState],
                 venues: Callable[[], Mapping[str, VenueAdapter]]) -> None:
        self._working_orders = working_orders
        self._positions = positions
        self._trading_state = trading_state
        self._venues = venues

    def collect(self) -> Iterator[Metric]:
        working = GaugeMetricFamily("ordergate_working_orders", "Orders not yet terminal",
                                    labels=["account", "venue", "symbol"])
        counts = Counter((o.account_id, o.venue, o.symbol) for o in self._working_orders())
        for key, count in sorted(counts.items()):
            working.add_metric(list(key), count)
        yield working
        positions = GaugeMetricFamily("ordergate_position_quantity",
                                      "Open positions, signed, in the instrument's base units",
                                      labels=["account", "venue", "symbol"])
        for key, position in sorted(self._positions.positions.items()):
            if not position.is_flat:
                positions.add_metric(list(key), float(position.quantity))
        yield positions
        state = self._trading_state()
        trading = GaugeMetricFamily("ordergate_trading_state", "The kill switch: 1 for the "
                                    "current state", labels=["state"])
        for trading_state in TradingState:
            trading.add_metric([trading_state.value], 1.0 if trading_state is state else 0.0)
        yield trading
        breakers = GaugeMetricFamily("ordergate_venue_breaker_state", "Each guarded venue's "
                                     "circuit breaker: 1 for its current state",
                                     labels=["venue", "state"])
        tokens = GaugeMetricFamily("ordergate_venue_rate_limit_tokens",
                                   "Requests each guarded venue may send now without waiting",
                                   labels=["venue"])
        for name, venue in sorted(self._venues().items()):
            if isinstance(venue, GuardedVenue):
                for breaker_state in BreakerState:
                    current = venue.breaker.state is breaker_state
                    breakers.add_metric([name, breaker_state.value], 1.0 if current else 0.0)
                tokens.add_metric([name], venue.limiter.tokens)
        yield breakers
        yield tokens
