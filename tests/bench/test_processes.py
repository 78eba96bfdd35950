"""Spec: the bench's percentiles are JSON (null, never NaN, where too few values cannot
tell a figure)."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from ordergate.bench.processes import compile_bytecode, percentiles


def test_no_values_give_nulls_that_json_can_carry() -> None:
    figures = percentiles([])
    assert figures == {"p50": None, "p99": None}
    assert json.loads(json.dumps(figures, allow_nan=False)) == figures


def test_one_value_is_its_own_median_with_no_p99() -> None:
    assert percentiles([12.34]) == {"p50": 12.3, "p99": None}


def test_many_values_give_the_median_the_99th_percentile_and_the_maximum() -> None:
    figures = percentiles([float(v) for v in range(1, 101)])
    assert figures["p50"] == 50.5 and 99 < figures["p99"] <= 100 and figures["max"] == 100


def test_a_module_that_will_not_compile_is_reported_and_the_others_still_compiled(
        tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text("VALUE = 1\n")
    (tmp_path / "broken.py").write_text("def (:\n")
    assert compile_bytecode(tmp_path) is False
    assert Path(importlib.util.cache_from_source(str(tmp_path / "good.py"))).exists()


def test_every_module_of_a_package_gets_bytecode_even_where_python_would_not_write_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # as PYTHONDONTWRITEBYTECODE=1
    sub = tmp_path / "sub"
    sub.mkdir()
    for module in (tmp_path / "a.py", sub / "__init__.py", sub / "b.py"):
        module.write_text("VALUE = 1\n")
    assert compile_bytecode(tmp_path) is True
    for module in (tmp_path / "a.py", sub / "__init__.py", sub / "b.py"):
        assert Path(importlib.util.cache_from_source(str(module))).exists()
