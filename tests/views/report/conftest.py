"""Replays to report on: the bundled demo (fills, refusals, invalid lines) and one where
nothing fills, each run once per session into its own directory."""

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from ordergate.config import load_config
from ordergate.replay.harness import replay

DATA = Path(__file__).resolve().parents[3] / "src" / "ordergate" / "data"


def run_replay(out: Path, signals: Path) -> dict:
    config = load_config(DATA / "demo.toml")
    asyncio.run(replay(signals, DATA / "demo_quotes.csv", config, out))
    return json.loads((out / "summary.json").read_text())


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    run_replay(out, DATA / "demo_signals.jsonl")
    return out


@pytest.fixture()
def demo_copy(demo_run: Path, tmp_path: Path) -> Path:
    """A copy of the demo's output that a test may break."""
    copy = Path(shutil.copytree(demo_run, tmp_path / "out"))
    (copy / "report.html").unlink(missing_ok=True)  # another test may have written one
    return copy


@pytest.fixture(scope="session")
def no_fill_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every line malformed: signals counted and audited, no order, no fill."""
    work = tmp_path_factory.mktemp("nofill")
    signals = work / "signals.jsonl"
    signals.write_text('not json\n{"signal_id": "x"}\n', encoding="utf-8")
    out = work / "out"
    run_replay(out, signals)
    return out
