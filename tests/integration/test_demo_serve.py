"""`scripts/demo-serve`, as the README tells a user to run it: up on its ports with the
Binance emulator behind it, answering, and Ctrl-C stops both processes and removes its
temporary directory."""

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_demo_serve_answers_trades_and_stops_both_processes_on_ctrl_c():
    port, emulator_port = _free_port(), _free_port()
    env = {**os.environ, "PORT": str(port), "EMULATOR_PORT": str(emulator_port)}
    script = subprocess.Popen([str(REPO / "scripts" / "demo-serve")], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    lines: list[str] = []
    try:
        assert script.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = script.stdout.readline()
            lines.append(line)
            if "Ctrl-C here stops" in line or not line:
                break
        text = "".join(lines)
        assert f"ordergate serve is up on http://127.0.0.1:{port}" in text, text
        trade = re.search(r'TRADE="(Authorization: Bearer [^"]+)"', text)
        audit = re.search(r"Audit log: (\S+)/audit\.jsonl", text)
        assert trade and audit, text
        url = f"http://127.0.0.1:{port}"
        health = httpx.get(f"{url}/v1/health").json()
        assert health["status"] == "ok" and health["venues"]["binance"]["breaker"] == "closed"
        name, _, value = trade.group(1).partition(": ")
        r = httpx.post(f"{url}/v1/orders", headers={name: value, "Idempotency-Key": "t-1"},
                       json={"symbol": "BTC/USDT", "side": "buy", "type": "market",
                             "quantity": "0.01", "account": "main", "venue": "binance"})
        assert r.status_code == 201 and r.json()["order"]["state"] == "FILLED", r.text
        os.killpg(script.pid, signal.SIGINT)  # Ctrl-C in its terminal
        script.wait(timeout=30)
        assert not _listening(port) and not _listening(emulator_port)
        assert not Path(audit.group(1)).exists()
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
            script.wait()
