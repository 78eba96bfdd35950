"""`bench.instructions`: instructions per unit from two sizes, for this tree and a base."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from ordergate.bench import instructions


def test_sizes_must_be_two_with_the_smaller_first():
    for text in ("3000,1000", "0,10", "5,5"):
        with pytest.raises(argparse.ArgumentTypeError):
            instructions._pair(text)
    assert instructions._pair("1000,3000") == (1000, 3000)


def test_without_valgrind_it_says_so_instead_of_a_figure(monkeypatch):
    monkeypatch.setattr(instructions.shutil, "which", lambda name: None)
    assert "valgrind not found" in instructions.measure(
        ["replay_market_hold"], None, (10, 20), (10, 20))["error"]


def test_a_unit_costs_the_difference_between_sizes_over_the_difference_in_units(monkeypatch):
    """Start-up and loading are in both counts and cancel; a base tree is counted with its
    own sources first on the path, and the ratio is this tree's over the base's."""
    monkeypatch.setattr(instructions.shutil, "which", lambda name: "/usr/bin/valgrind")
    counted: list[tuple[str, Path | None]] = []

    def fake_count(command: list[str], src: Path | None, work: Path) -> int:
        size = int(command[command.index("--n") + 1])
        counted.append((command[2], src))
        return 1_000_000 + size * (3_000 if src is None else 4_000)

    monkeypatch.setattr(instructions, "count", fake_count)
    out = instructions.measure(["api_durable"], Path("/elsewhere/src"), (1, 2), (100, 500))
    figure = out["api_durable"]
    assert figure["unit"] == "request"
    assert figure["here"]["instructions_per_unit"] == 3_000
    assert figure["base"]["instructions_per_unit"] == 4_000
    assert figure["ratio_here_to_base"] == 0.75
    assert {src for _, src in counted} == {None, Path("/elsewhere/src")}
    assert all(module == "ordergate.bench.api_load" for module, _ in counted)
