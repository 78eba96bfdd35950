"""Spec: the bench's percentiles are JSON (null, never NaN, where too few values cannot
tell a figure)."""

import json

from ordergate.bench.processes import percentiles


def test_no_values_give_nulls_that_json_can_carry() -> None:
    figures = percentiles([])
    assert figures == {"p50": None, "p99": None}
    assert json.loads(json.dumps(figures, allow_nan=False)) == figures


def test_one_value_is_its_own_median_with_no_p99() -> None:
    assert percentiles([12.34]) == {"p50": 12.3, "p99": None}


def test_many_values_give_the_median_the_99th_percentile_and_the_maximum() -> None:
    figures = percentiles([float(v) for v in range(1, 101)])
    assert figures["p50"] == 50.5 and 99 < figures["p99"] <= 100 and figures["max"] == 100
