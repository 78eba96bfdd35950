"""`Tally` and `TallyHistogram`: the counters and histograms every signal moves, kept as
plain numbers and turned into Prometheus families only when scraped.

prometheus_client's `Counter.inc` and `Histogram.observe` take a lock on every call and
check, through two method calls, that the metric may be observed: right for metrics that
any thread may touch, and dear on the engine's hot path, where about ten of them a signal
were 3% of a replay's instructions (callgrind, with the subscriber removed). These are
moved only by the engine's event loop (the bus delivers there; the journal commits
there), so a counter is a one-element list added to in place, and a histogram a list of
bucket counts and a sum. `collect()` makes the same families prometheus_client would:
the same names, help, labels, `_total`/`_created` samples and cumulative `le` buckets, so
`/metrics` reads exactly as before (the tests compare them with prometheus_client's own).
A scrape from another thread reads numbers that are at worst one event behind.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar, cast

from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client import utils

Labels = tuple[str, ...]
_go_float = cast(Callable[[float], str], utils.floatToGoString)  # how `le` is written


V = TypeVar("V")


class _Series(Collector, Generic[V]):
    """Series by label values, each made by `_new` the first time its labels are seen and
    dated then (the `_created` sample)."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str]) -> None:
        self._name, self._doc, self._labelnames = name, documentation, tuple(labelnames)
        self._series: dict[Labels, V] = {}
        self._created: dict[Labels, float] = {}

    def _new(self) -> V:
        raise NotImplementedError

    def _get(self, labels: Labels) -> V:
        found = self._series.get(labels)
        if found is None:
            if len(labels) != len(self._labelnames):
                raise ValueError(f"{self._name}: labels {self._labelnames}, got {labels}")
            found = self._series[labels] = self._new()
            self._created[labels] = time.time()
        return found


class Tally(_Series[list[float]]):
    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, documentation, labelnames)
        if not self._labelnames:
            self.cell()  # an unlabelled counter is exposed from the start, at 0

    def _new(self) -> list[float]:
        return [0.0]

    def cell(self, *labels: str) -> list[float]:
        """The series for these label values, created at 0 if new: add to `cell[0]`."""
        return self._get(labels)

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self._name, self._doc, labels=self._labelnames)
        for labels, cell in list(self._series.items()):
            family.add_metric(labels, cell[0], created=self._created[labels])
        yield family


class _Observed:
    __slots__ = ("counts", "sum", "bounds")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last: above every bound (+Inf)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        """As `Histogram.observe`: counted in the first bucket whose bound is >= value."""
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value


class TallyHistogram(_Series[_Observed]):
    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = (),
                 buckets: Sequence[float] = ()) -> None:
        bounds = tuple(float(b) for b in buckets if b != float("inf"))
        if not bounds or list(bounds) != sorted(bounds):
            raise ValueError(f"{name}: buckets must be given in increasing order")
        super().__init__(name, documentation, labelnames)
        self._bounds = bounds
        if not self._labelnames:
            self.series()

    def _new(self) -> _Observed:
        return _Observed(self._bounds)

    def series(self, *labels: str) -> _Observed:
        """The series for these label values, created empty if new: call its `observe`."""
        return self._get(labels)

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self._name, self._doc, labels=self._labelnames)
        edges = [_go_float(b) for b in self._bounds] + ["+Inf"]
        for labels, observed in list(self._series.items()):
            running, buckets = 0, []
            for edge, count in zip(edges, list(observed.counts), strict=True):
                running += count
                buckets.append((edge, float(running)))
            family.add_metric(labels, buckets, observed.sum)
            family.add_sample(self._name + "_created", dict(zip(self._labelnames, labels)),
                              self._created[labels])
        yield family
