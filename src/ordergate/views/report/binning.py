"""Distributions from binned counts: SQL counts the fills or orders per fine bin, and the
quantiles and the bars of a histogram come from those counts, so a million values are
never held in Python. The fine bin (0.1 bp, 1 ms) is far below what a chart shows."""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_BARS = 60


@dataclass(frozen=True, slots=True)
class Counts:
    """How many values fell at each fine-bin centre, centres ascending."""
    values: list[float]
    counts: list[int]

    @classmethod
    def of(cls, pairs: dict[float, int]) -> Counts:
        ordered = sorted(pairs.items())
        return cls([v for v, _ in ordered], [n for _, n in ordered])

    @property
    def total(self) -> int:
        return sum(self.counts)

    def quantile(self, q: float) -> float:
        """The smallest value with at least `q` of all values at or below it."""
        if not self.counts:
            raise ValueError("no values")
        target, running = q * self.total, 0
        for value, count in zip(self.values, self.counts):
            running += count
            if running >= target:
                return value
        return self.values[-1]

    def mean(self) -> float:
        return sum(v * n for v, n in zip(self.values, self.counts)) / self.total


@dataclass(frozen=True, slots=True)
class Histogram:
    centres: list[float]
    counts: list[int]
    width: float
    below: int
    """Values under the first bar (outliers left out so the bulk stays readable)."""
    above: int


@dataclass(frozen=True, slots=True)
class Bins:
    """Bars of one width from `start`, covering `low` to `high`; shared by several series
    so that their bars line up."""
    start: float
    width: float
    size: int
    low: float
    high: float

    @classmethod
    def over(cls, counts: Counts, *, bars: int = MAX_BARS, tail: float = 0.005,
             resolution: float = 0.0) -> Bins:
        """Bars over the values between the `tail` and 1 − `tail` quantiles (all of them
        when no value lies far out), whole fine bins of `resolution` each."""
        low, high = counts.quantile(tail), counts.quantile(1 - tail)
        spread = high - low
        if counts.values[0] >= low - spread and counts.values[-1] <= high + spread:
            low, high = counts.values[0], counts.values[-1]  # no far outliers: show all
        width, start = (high - low) / bars or 1.0, low
        if resolution:  # whole fine bins per bar, each fine value in the middle of its bar
            width = max(1, math.ceil(width / resolution - 1e-9)) * resolution
            start = low - resolution / 2
        return cls(start, width, int((high - start) / width) + 1, low, high)

    def histogram(self, counts: Counts) -> Histogram:
        bins = [0] * self.size
        below = above = 0
        for value, count in zip(counts.values, counts.counts):
            if value < self.low:
                below += count
            elif value > self.high:
                above += count
            else:
                bins[min(int((value - self.start) / self.width), self.size - 1)] += count
        return Histogram([self.start + (i + 0.5) * self.width for i in range(self.size)], bins,
                         self.width, below, above)


def merged(series: list[Counts]) -> Counts:
    total: dict[float, int] = {}
    for counts in series:
        for value, count in zip(counts.values, counts.counts):
            total[value] = total.get(value, 0) + count
    return Counts.of(total)
