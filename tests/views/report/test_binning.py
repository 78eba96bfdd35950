"""Quantiles and bars from binned counts: nothing is lost (outliers are counted aside)."""

import pytest

from ordergate.views.report.binning import Bins, Counts, merged


def test_no_values_have_no_quantile() -> None:
    with pytest.raises(ValueError):
        Counts.of({}).quantile(0.5)


def test_quantiles_come_from_cumulative_counts() -> None:
    counts = Counts.of({0.0: 50, 1.0: 40, 10.0: 10})
    assert counts.quantile(0.5) == 0.0
    assert counts.quantile(0.51) == 1.0
    assert counts.quantile(0.95) == 10.0
    assert counts.mean() == pytest.approx(1.4)


def test_far_outliers_are_counted_aside_and_nothing_is_lost() -> None:
    values = {round(i * 0.1, 1): 100 for i in range(-20, 21)}
    values[500.0] = 1
    counts = Counts.of(values)
    bins = Bins.over(counts, resolution=0.1)
    bars = bins.histogram(counts)
    assert bars.above == 1 and bars.below == 0
    assert sum(bars.counts) + bars.above + bars.below == counts.total
    assert bins.high < 500


def test_bars_are_whole_fine_bins_so_none_is_empty_by_aliasing() -> None:
    counts = Counts.of({round(i * 0.1, 1): 1 for i in range(0, 131)})  # 0 .. 13.0 bps
    bars = Bins.over(counts, bars=60, resolution=0.1).histogram(counts)
    assert bars.width == pytest.approx(0.3)
    assert all(bars.counts[:-1]) and sum(bars.counts) == 131


def test_series_merge_by_value() -> None:
    assert merged([Counts.of({1.0: 2}), Counts.of({1.0: 3, 2.0: 1})]) == Counts.of({1.0: 5, 2.0: 1})
