"""Spec: the resting-order benchmark prints one JSON object, per resting-order count the
time per quote and the orders matching examined per quote (a count, checked here; the
times are for reading, not for asserting)."""

import json
import sys

import pytest

from ordergate.bench import resting


def test_counts_that_are_not_counts_are_refused(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["resting", "--resting", "10", "--quotes", "0"])
    with pytest.raises(SystemExit):
        resting.main()
    assert "--quotes" in capsys.readouterr().err


def test_prints_one_json_object_with_a_figure_per_count_and_the_ratio(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["resting", "--resting", "10,500", "--quotes", "20",
                                      "--repeat", "1"])
    resting.main()
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"resting_orders", "ratio_500_vs_10"}
    assert set(report["resting_orders"]) == {"10", "500"}
    for figure in report["resting_orders"].values():
        assert figure["us_per_quote"] > 0
    # the crossing buys and the first order each side that does not cross, however many rest
    examined = {n: f["orders_examined_per_quote"] for n, f in report["resting_orders"].items()}
    assert examined == {"10": resting.CROSSING + 2, "500": resting.CROSSING + 2}
