"""`ordergate run --config config/binance-testnet.toml` as its own process, against the
Binance emulator as its own process: the shipped configuration, the environment
overrides, ccxt's real binance class, signals on standard input, the audit log, and no
credential anywhere in what the run writes.

Also: both shipped venue configurations load with `load_config`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordergate.config import load_config
from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.testing.binance_emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET

ROOT = Path(__file__).resolve().parents[2]
BINANCE_CONFIG = ROOT / "config" / "binance-testnet.toml"
POLYMARKET_CONFIG = ROOT / "config" / "polymarket.toml"
D = Decimal


# ---------------------------------------------------------------- the shipped configurations


def test_binance_testnet_config_loads() -> None:
    config = load_config(BINANCE_CONFIG, {})
    venue = config.venues["binance"]
    fields = venue.adapter_fields()
    assert venue.kind == "ccxt" and venue.enabled
    assert fields["exchange"] == "binance" and fields["sandbox"] is True
    assert fields["api_key_env"] == "BINANCE_API_KEY"
    assert fields["secret_env"] == "BINANCE_API_SECRET"
    assert "api_url" not in fields  # the testnet by default; the emulator only by override
    assert config.pipeline.handlers == ("validator", "risk", "executor", "reconciler")
    assert config.journal.durable
    assert venue.breaker is not None and venue.breaker.failure_threshold == 5
    assert venue.rate_limit is not None and venue.rate_limit.rate_per_s == 10.0
    assert config.recovery.absent_order_policy == "fail"
    # ccxt's binance signs recvWindow = 10 s; Binance allows 1 s of clock skew on top.
    assert config.executor.resend_after_s + config.executor.clock_skew_margin_s >= 11


def test_binance_testnet_config_takes_the_emulator_override(tmp_path: Path) -> None:
    config = load_config(BINANCE_CONFIG, {
        "ORDERGATE__VENUES__BINANCE__API_URL": "http://127.0.0.1:8765",
        "ORDERGATE__JOURNAL__PATH": str(tmp_path / "j.sqlite"),
        "ORDERGATE__AUDIT__PATH": str(tmp_path / "a.jsonl"),
    })
    assert config.venues["binance"].adapter_fields()["api_url"] == "http://127.0.0.1:8765"
    assert config.journal.path == tmp_path / "j.sqlite"
    assert config.audit.path == tmp_path / "a.jsonl"


async def test_binance_testnet_config_talks_to_the_testnet_unless_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    """`sandbox = true` must mean testnet.binance.vision, never api.binance.com; with the
    emulator override every URL points at the emulator, paths kept."""
    from ordergate.clock import WallClock
    from ordergate.venues.ccxt_venue import CcxtVenue, CcxtVenueSettings

    monkeypatch.setenv("BINANCE_API_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("BINANCE_API_SECRET", DEFAULT_API_SECRET)
    for environ, host in (({}, "https://testnet.binance.vision"),
                          ({"ORDERGATE__VENUES__BINANCE__API_URL": "http://127.0.0.1:8765"},
                           "http://127.0.0.1:8765")):
        config = load_config(BINANCE_CONFIG, environ)
        settings = CcxtVenueSettings.model_validate(
            {"name": "binance", **config.venues["binance"].adapter_fields()})
        venue = CcxtVenue(settings, WallClock())
        try:
            urls = venue._exchange.urls["api"]  # where ccxt will send its requests
            assert urls["public"] == f"{host}/api/v3" and urls["private"] == f"{host}/api/v3"
            assert not any("api.binance.com" in str(u) for u in urls.values())
        finally:
            await venue.close()


def test_polymarket_config_loads() -> None:
    config = load_config(POLYMARKET_CONFIG, {})
    venue = config.venues["polymarket"]
    fields = venue.adapter_fields()
    assert venue.kind == "polymarket"
    assert fields["private_key_env"] == "POLYMARKET_PRIVATE_KEY"
    assert {fields["api_key_env"], fields["api_secret_env"], fields["api_passphrase_env"]} == {
        "POLYMARKET_API_KEY", "POLYMARKET_API_SECRET", "POLYMARKET_API_PASSPHRASE"}
    assert fields["funder_env"] == "POLYMARKET_FUNDER"
    assert venue.breaker is not None and venue.rate_limit is not None


def test_shipped_configs_hold_no_secret_values() -> None:
    for path in (BINANCE_CONFIG, POLYMARKET_CONFIG):
        for line in path.read_text().splitlines():
            code = line.split("#", 1)[0]
            key = code.split("=", 1)[0].strip()
            if key and "=" in code and any(w in key for w in ("key", "secret", "passphrase")):
                assert key.endswith("_env"), f"{path.name}: {key} must name an env variable"


# ---------------------------------------------------------------- the emulator as a process


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=2.0) as response:
        return json.loads(response.read())


@dataclass
class EmulatorProcess:
    proc: subprocess.Popen[str]
    base_url: str

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = _get(f"{self.base_url}/_admin/state")
        return state

    def fault(self, **fault: Any) -> None:
        _post(f"{self.base_url}/_admin/faults", fault)


@pytest.fixture
def emulator_process() -> Iterator[EmulatorProcess]:
    last_error: Exception | None = None
    for _ in range(3):  # a port picked free can be taken before the emulator binds it
        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "ordergate.testing.binance_emulator", "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 10
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"emulator exited: {proc.communicate()[1][-2000:]}")
                try:
                    if _get(f"{base_url}/api/v3/ping", timeout=0.5) == {}:
                        break
                except (urllib.error.URLError, ConnectionError, OSError) as exc:
                    last_error = exc
                if time.monotonic() > deadline:
                    raise RuntimeError(f"emulator on {base_url} did not answer /api/v3/ping")
                time.sleep(0.05)
        except RuntimeError as exc:
            last_error = exc
            _terminate(proc)
            continue
        try:
            yield EmulatorProcess(proc, base_url)
        finally:
            _terminate(proc)
        return
    raise RuntimeError(f"could not start the emulator: {last_error}")


def _terminate(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


# ---------------------------------------------------------------- `ordergate run`


def _signal(signal_id: str, **extra: Any) -> str:
    fields = {"signal_id": signal_id, "ts": datetime.now(UTC).isoformat(),
              "strategy_id": "live-it", "account_id": "main", "venue": "binance",
              "symbol": "BTC/USDT", "side": "buy", "order_type": "market", "quantity": "0.01",
              **extra}
    return json.dumps(fields) + "\n"


def _cid(signal_id: str) -> str:
    return client_order_id_for("live-it", "main", signal_id)


def _run_env(emu: EmulatorProcess, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE__")}
    env.update({
        "ORDERGATE__VENUES__BINANCE__API_URL": emu.base_url,
        "ORDERGATE__JOURNAL__PATH": str(tmp_path / "journal.sqlite"),
        "ORDERGATE__AUDIT__PATH": str(tmp_path / "audit.jsonl"),
        "BINANCE_API_KEY": DEFAULT_API_KEY,
        "BINANCE_API_SECRET": DEFAULT_API_SECRET,
    })
    return env


def _run(emu: EmulatorProcess, tmp_path: Path, stdin: str,
         extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = _run_env(emu, tmp_path) | (extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "ordergate.cli", "run", "--config", str(BINANCE_CONFIG)],
        input=stdin, capture_output=True, text=True, timeout=30, env=env, cwd=tmp_path,
        check=False,
    )


def _audit(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines() if line]


def test_run_against_the_emulator_process(emulator_process: EmulatorProcess, tmp_path: Path) -> None:
    stdin = (_signal("buy-1", quantity="0.7")
             + _signal("sell-1", side="sell", quantity="0.2")
             + _signal("rest-1", order_type="limit", limit_price="49500.00", quantity="0.01")
             + "{not json\n")
    # 0.7 BTC (35 000 USDT) walks two levels of the book; the shipped cap is 5 000 per order.
    result = _run(emulator_process, tmp_path, stdin, {"ORDERGATE__RISK__MAX_ORDER_NOTIONAL": "100000"})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["signals_total"] == 4 and summary["signals_invalid"] == 1
    assert summary["orders_filled"] == 2 and summary["orders_rejected"] == 0

    state = emulator_process.state()
    counts = state["client_order_id_counts"]
    assert counts == {_cid("buy-1"): 1, _cid("sell-1"): 1, _cid("rest-1"): 1}
    by_cid = {o["clientOrderId"]: o for o in state["orders"]}
    assert by_cid[_cid("buy-1")]["status"] == "FILLED"
    assert by_cid[_cid("sell-1")]["status"] == "FILLED"
    assert by_cid[_cid("rest-1")]["status"] == "NEW"  # rests; left working at the end of input

    audit = _audit(tmp_path)
    venue_trades = {str(t["id"]): t for t in state["trades"]}
    fills = [l for l in audit if l["event"] == "fill"]
    assert {l["trade_id"] for l in fills} == set(venue_trades)
    assert len(fills) == len(venue_trades) == 3  # 0.5 + 0.2 for the buy, 0.2 for the sell
    for line in fills:
        trade = venue_trades[line["trade_id"]]
        assert line["client_order_id"] == trade["clientOrderId"]
        assert D(line["quantity"]) == D(trade["qty"]) and D(line["price"]) == D(trade["price"])
    # The position is what the account holds: the 10 BTC adopted on this cold start (an
    # empty journal), +0.7 bought less 0.0007 BTC commission, -0.2 sold.
    assert D(summary["positions"]["BTC/USDT"]) == D("10.4993")
    assert D(state["balances"]["BTC"]["free"]) + D(state["balances"]["BTC"]["locked"]) == D("10.4993")
    left = [l for l in audit if l["event"] == "order_open_at_shutdown"]
    assert [(l["signal_id"], l["decision"]) for l in left] == [("rest-1", "ACCEPTED")]
    invalid = [l for l in audit if l["event"] == "signal_invalid"]
    assert len(invalid) == 1 and invalid[0]["line"] == 4


def test_run_sends_once_through_faults_and_the_second_run_not_at_all(
        emulator_process: EmulatorProcess, tmp_path: Path) -> None:
    # The venue processes the order, then the connection drops: lookup, adopt, no resend.
    emulator_process.fault(method="POST", path="/api/v3/order", kind="drop", after_processing=True)
    # A 503 on the next send: nothing placed, looked up, resent once.
    emulator_process.fault(method="POST", path="/api/v3/order", kind="status", status=503)
    fast = {"ORDERGATE__EXECUTOR__BACKOFF_BASE_S": "0.01", "ORDERGATE__EXECUTOR__BACKOFF_CAP_S": "0.05",
            "ORDERGATE__EXECUTOR__RESEND_AFTER_S": "0.5"}
    stdin = _signal("f-1") + _signal("f-2", quantity="0.02")
    first = _run(emulator_process, tmp_path, stdin, fast)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["orders_filled"] == 2
    counts = emulator_process.state()["client_order_id_counts"]
    assert counts == {_cid("f-1"): 1, _cid("f-2"): 1}

    # The same signals again (a restarted strategy): the journal knows them, nothing is sent.
    second = _run(emulator_process, tmp_path, stdin, fast)
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert summary["rejections_by_code"] == {"DUPLICATE_SIGNAL": 2}
    assert emulator_process.state()["client_order_id_counts"] == counts


def test_no_credential_in_audit_stdout_or_stderr(emulator_process: EmulatorProcess, tmp_path: Path) -> None:
    # Error paths put venue error texts into the audit log: drive several of them.
    emulator_process.fault(method="POST", path="/api/v3/order", kind="status", status=503)
    emulator_process.fault(method="GET", path="/api/v3/order", kind="status", status=500, count=1)
    emulator_process.fault(method="POST", path="/api/v3/order", kind="status", status=429,
                           retry_after=0.1)
    stdin = (_signal("s-1")
             + _signal("s-2", quantity="0.00001", order_type="limit", limit_price="49000.00")
             # the venue holds 10 BTC (and 1M USDT, so the risk manager admits it): insufficient
             + _signal("s-3", side="sell", quantity="15")
             + _signal("s-4"))
    fast = {"ORDERGATE__EXECUTOR__BACKOFF_BASE_S": "0.01", "ORDERGATE__EXECUTOR__BACKOFF_CAP_S": "0.05",
            "ORDERGATE__EXECUTOR__RESEND_AFTER_S": "0.5",
            "ORDERGATE__RISK__MAX_ORDER_NOTIONAL": '"1000000000"'}
    result = _run(emulator_process, tmp_path, stdin, fast)
    assert result.returncode == 0, result.stderr
    assert all(f["count"] == 0 for f in emulator_process.state()["faults"])  # every fault hit
    audit_text = (tmp_path / "audit.jsonl").read_text()
    # Venue error texts (with request URLs) did flow into the audit log.
    assert "ExchangeNotAvailable" in audit_text and "InsufficientFunds" in audit_text
    journal = (tmp_path / "journal.sqlite").read_bytes()
    for secret in (DEFAULT_API_KEY, DEFAULT_API_SECRET):
        assert secret not in audit_text
        assert secret not in result.stdout
        assert secret not in result.stderr
        assert secret.encode() not in journal


def _delete(url: str) -> None:
    request = urllib.request.Request(url, method="DELETE")
    with urllib.request.urlopen(request, timeout=2.0):
        pass


def test_order_left_unresolved_is_looked_up_on_the_next_start(
        emulator_process: EmulatorProcess, tmp_path: Path) -> None:
    """What `order_open_at_shutdown` promises ("looked up by client order ID on the next
    start") is what the next `ordergate run` on the same journal does (engine recovery)."""
    # Run 1: the venue fills the order but the answer is lost, and the venue cannot be asked.
    emulator_process.fault(method="POST", path="/api/v3/order", kind="drop", after_processing=True)
    emulator_process.fault(method="GET", path="/api/v3/order", kind="status", status=503, count=1000)
    fast = {"ORDERGATE__EXECUTOR__BACKOFF_BASE_S": "0.01", "ORDERGATE__EXECUTOR__BACKOFF_CAP_S": "0.05",
            "ORDERGATE__EXECUTOR__RESEND_AFTER_S": "0.5"}
    first = _run(emulator_process, tmp_path, _signal("restart-1"), fast)
    assert first.returncode == 0, first.stderr
    left = [l for l in _audit(tmp_path) if l["event"] == "order_open_at_shutdown"]
    assert [(l["signal_id"], l["decision"]) for l in left] == [("restart-1", "SUBMITTED")]
    assert "next start" in left[0]["reason"]
    assert emulator_process.state()["client_order_id_counts"] == {_cid("restart-1"): 1}

    # Run 2, same journal, the venue reachable again, no new signals.
    _delete(f"{emulator_process.base_url}/_admin/faults")
    (tmp_path / "audit.jsonl").rename(tmp_path / "audit-run1.jsonl")
    second = _run(emulator_process, tmp_path, "", fast)
    assert second.returncode == 0, second.stderr
    audit = _audit(tmp_path) if (tmp_path / "audit.jsonl").exists() else []
    trade_ids = {str(t["id"]) for t in emulator_process.state()["trades"]}
    assert {l["trade_id"] for l in audit if l["event"] == "fill"
            and l["client_order_id"] == _cid("restart-1")} == trade_ids
    assert emulator_process.state()["client_order_id_counts"] == {_cid("restart-1"): 1}


def test_sigint_while_an_order_rests_stops_cleanly(emulator_process: EmulatorProcess, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ordergate.cli", "run", "--config", str(BINANCE_CONFIG)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=_run_env(emulator_process, tmp_path), cwd=tmp_path,
    )
    try:
        assert proc.stdin is not None
        proc.stdin.write(_signal("sig-1", order_type="limit", limit_price="49500.00"))
        proc.stdin.flush()
        audit = tmp_path / "audit.jsonl"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if audit.exists() and '"decision":"ACCEPTED"' in audit.read_text():
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)  # stdin stays open: the signal alone ends the run
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert json.loads(out)["orders_submitted"] == 1
    left = [l for l in _audit(tmp_path) if l["event"] == "order_open_at_shutdown"]
    assert [(l["signal_id"], l["decision"]) for l in left] == [("sig-1", "ACCEPTED")]
    # Stopping the engine does not cancel at the venue: the order is still working there.
    orders = emulator_process.state()["orders"]
    assert [(o["clientOrderId"], o["status"]) for o in orders] == [(_cid("sig-1"), "NEW")]
    for secret in (DEFAULT_API_KEY, DEFAULT_API_SECRET):
        assert secret not in out and secret not in err
