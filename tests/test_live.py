"""`ordergate run`: signals from standard input, an orderly stop on SIGTERM, and an
audit line for every order left unfinished."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from ordergate import live
from ordergate.config import load_config

ROOT = Path(__file__).resolve().parents[1]
QUOTES = ROOT / "src" / "ordergate" / "data" / "demo_quotes.csv"


def _config(tmp: Path) -> Path:
    path = tmp / "paper.toml"
    path.write_text(f"""
[journal]
path = "{tmp / 'journal.sqlite'}"
[audit]
path = "{tmp / 'audit.jsonl'}"
[validator]
max_signal_age_s = 1e12
[venues.sim]
kind = "simulated"
market_data = "{QUOTES}"
""")
    return path


def _signal(signal_id: str, **extra: object) -> str:
    fields = {"signal_id": signal_id, "ts": "2026-01-02T00:10:00Z", "strategy_id": "live",
              "account_id": "main", "venue": "sim", "symbol": "BTC/USDT", "side": "buy",
              "quantity": "0.01", "stop_loss": "1000", "take_profit": "1000000", **extra}
    return json.dumps(fields) + "\n"


def _audit(tmp: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp / "audit.jsonl").read_text().splitlines()]


def test_sigterm_stops_cleanly_and_audits_orders_left_open(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "ordergate.cli", "run", "--config", str(_config(tmp_path))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write(_signal("m-1"))
    proc.stdin.write("{not json\n")
    bid = Decimal(QUOTES.read_text().splitlines()[-3].split(",")[2])  # last BTC/USDT bid
    resting = (bid * Decimal("0.97")).quantize(Decimal("0.01"))  # inside the band, not crossing
    proc.stdin.write(_signal("l-1", order_type="limit", limit_price=str(resting), quantity="0.02"))
    proc.stdin.flush()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        audit = tmp_path / "audit.jsonl"
        if audit.exists() and audit.read_text().count("order_transition") >= 3:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["signals_total"] == 3 and summary["signals_invalid"] == 1
    lines = _audit(tmp_path)
    left_open = [l for l in lines if l["event"] == "order_open_at_shutdown"]
    assert [l["decision"] for l in left_open] == ["ACCEPTED"]
    assert any(l["event"] == "fill" and l["signal_id"] == "m-1" for l in lines)


def test_end_of_input_ends_the_run(tmp_path):
    signals = tmp_path / "s.jsonl"
    signals.write_text(_signal("a") + _signal("b", side="sell", stop_loss="50000", take_profit="1000"))
    result = subprocess.run(
        [sys.executable, "-m", "ordergate.cli", "run", "--config", str(_config(tmp_path)),
         "--signals", str(signals)], capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["orders_filled"] == 2
    assert Decimal(summary["positions"]["BTC/USDT"]) == 0


def test_environment_overrides_config_keys_at_any_depth(tmp_path):
    config = load_config(_config(tmp_path), {
        "ORDERGATE__VENUES__SIM__TAKER_FEE": '"0.001"',
        "ORDERGATE__RISK__TRADING_STATE": "HALTED",
        "ORDERGATE__EXECUTOR__MAX_ATTEMPTS": "2",
        "UNRELATED": "x",
    })
    assert config.venues["sim"].adapter_fields()["taker_fee"] == "0.001"
    assert config.risk.trading_state == "HALTED"
    assert config.executor.max_attempts == 2
    assert os.environ.get("ORDERGATE__RISK__TRADING_STATE") is None


class _OneAtATime:
    """Stands in for `Engine` in `run_live`: records any two decisions running at once."""

    def __init__(self, config, clock):
        self.config, self.clock = config, clock
        self.busy: str | None = None
        self.overlaps: list[tuple[str, str]] = []
        self.done: list[str] = []
        self.ledger = SimpleNamespace(live_orders=list)
        self.audit = SimpleNamespace(flush=lambda: None)

    async def _decide(self, name, seconds):
        if self.busy is not None:
            self.overlaps.append((self.busy, name))
        self.busy = name
        await asyncio.sleep(seconds)  # a venue round trip: the event loop runs others meanwhile
        self.busy = None
        self.done.append(name)

    async def start(self):
        await self._decide("start", 0.2)

    async def submit(self, signal):
        await self._decide("submit", 0.03)

    async def tick(self):
        await self._decide("tick", 0.01)

    def reject_invalid(self, error, line=None):
        self.done.append("invalid")

    async def close(self):
        pass


async def test_a_tick_never_runs_inside_a_signal_or_the_start_up(tmp_path, monkeypatch):
    """Each decision commits the journal and then writes its audit lines; interleaved, a
    crash between one decision's commit and another's audit write loses audit lines for
    good (found by the crash test)."""
    monkeypatch.setattr(live, "Engine", _OneAtATime)
    config = load_config(_config(tmp_path), {"ORDERGATE__RECONCILER__POLL_INTERVAL_S": "0.005"})
    signals = tmp_path / "s.jsonl"
    signals.write_text("".join(_signal(f"s-{i}") for i in range(15)) + "{not json\n")
    engine = await live.run_live(config, signals)
    assert isinstance(engine, _OneAtATime)
    assert engine.overlaps == []
    assert engine.done.count("submit") == 15 and engine.done.count("invalid") == 1
    assert engine.done[0] == "start" and engine.done.count("tick") >= 2  # ticks between signals


def _wait_for(path: Path, text: str, count: int = 1, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count(text) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not written {count} time(s) in {timeout}s")


def test_sigterm_stops_the_run_while_a_strategy_keeps_standard_input_open(tmp_path):
    # A strategy's pipe or a supervisor leaves stdin open: the stop must not wait for a
    # line or EOF that never comes.
    proc = subprocess.Popen(
        [sys.executable, "-m", "ordergate.cli", "run", "--config", str(_config(tmp_path))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(_signal("open-pipe").encode())
        proc.stdin.flush()
        _wait_for(tmp_path / "audit.jsonl", '"FILLED"')
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)  # stdin still open
        took = time.monotonic() - sent
        out = proc.stdout.read().decode()
    finally:
        proc.stdin.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert json.loads(out)["orders_filled"] == 1
    assert took < 10


def test_no_input_line_ends_the_process(tmp_path):
    deep = "[" * 1000 + "]" * 1000
    lines = [deep.encode(), b'{"signal_id": "' + b"x" * (200 * 1024) + b'"}', b"\xff\xfe{\x00",
             ("{" * 50 + "}" * 50).encode(), b"", _signal("after").encode().rstrip()]
    signals = tmp_path / "s.jsonl"
    signals.write_bytes(b"\n".join(lines) + b"\n")
    result = subprocess.run(
        [sys.executable, "-m", "ordergate.cli", "run", "--config", str(_config(tmp_path)),
         "--signals", str(signals)], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    summary = json.loads(result.stdout)
    assert summary["signals_invalid"] == 4 and summary["orders_filled"] == 1
    invalid = [l for l in _audit(tmp_path) if l["event"] == "signal_invalid"]
    assert [l["line"] for l in invalid] == [1, 2, 3, 4]
    assert "longer than 65536 bytes" in invalid[1]["reason"]


class _DyingTicker(_OneAtATime):
    async def tick(self):
        raise RuntimeError("a bug the supervisor did not catch")


async def test_a_control_loop_that_dies_ends_the_run_instead_of_taking_signals_behind_it(
        tmp_path, monkeypatch):
    monkeypatch.setattr(live, "Engine", _DyingTicker)
    config = load_config(_config(tmp_path), {"ORDERGATE__RECONCILER__POLL_INTERVAL_S": "0.01"})
    read, write = os.pipe()  # standard input that stays open, as a strategy's pipe
    monkeypatch.setattr(sys, "stdin", os.fdopen(read, "rb", buffering=0))
    try:
        with pytest.raises(RuntimeError, match="did not catch"):
            await asyncio.wait_for(live.run_live(config, None), timeout=10)
    finally:
        os.close(write)
