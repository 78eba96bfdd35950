"""`ordergate serve` as its own process: refusals at start, the address announced, the
signal file alongside HTTP, an orderly stop on SIGTERM, and a retry after a restart of the
process answered with the first answer."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from ordergate.testing.served import TOKENS, TRADE, order, signal as a_signal, write_config

ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE__")}, **TOKENS}


class ServeProcess:
    def __init__(self, config: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ordergate.cli", "serve", "--config", str(config), *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env or ENV)
        self.stderr: list[str] = []
        self.url: str | None = None
        up = threading.Event()

        def read() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self.stderr.append(line)
                if "listening on " in line:
                    self.url = line.rsplit(" ", 1)[1].strip()
                    up.set()
            up.set()

        threading.Thread(target=read, daemon=True).start()
        up.wait(30)

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out = self.proc.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out = self.proc.communicate(timeout=10)[0]
        return self.proc.returncode, out


def test_a_non_loopback_address_without_tokens_exits_2_with_the_reason(tmp_path):
    config = write_config(tmp_path, tokens=False)
    config.write_text(config.read_text().replace('host = "127.0.0.1"', 'host = "0.0.0.0"'))
    served = ServeProcess(config)
    code, _ = served.stop()
    assert code == 2 and "not a loopback address" in "".join(served.stderr)


def test_an_unset_token_variable_exits_2_naming_it(tmp_path):
    env = {k: v for k, v in ENV.items() if k != "OG_TEST_TRADE"}
    served = ServeProcess(write_config(tmp_path), env=env)
    code, _ = served.stop()
    assert code == 2 and "OG_TEST_TRADE" in "".join(served.stderr)


def test_a_port_in_use_exits_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path)
        config.write_text(config.read_text().replace("port = 0", f"port = {port}"))
        served = ServeProcess(config)
        code, _ = served.stop()
    assert code == 2 and "cannot listen" in "".join(served.stderr)


def test_serve_takes_http_and_the_signal_file_and_stops_cleanly_on_sigterm(tmp_path):
    signals = tmp_path / "signals.jsonl"
    signals.write_text(json.dumps(a_signal("file-1")) + "\n{not json\n")
    served = ServeProcess(write_config(tmp_path), "--signals", str(signals))
    try:
        assert served.url, served.stderr
        r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "p-1"},
                       json=order(type="limit", price="42000"), timeout=10)
        assert r.status_code == 201 and r.json()["order"]["state"] == "ACCEPTED"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            listed = httpx.get(f"{served.url}/v1/orders", headers=TRADE).json()["orders"]
            if len(listed) == 2:
                break
            time.sleep(0.1)
        assert {o["signal_id"] for o in listed} == {"file-1", r.json()["signal_id"]}
    finally:
        code, out = served.stop()
    assert code == 0, "".join(served.stderr)
    summary = json.loads(out)
    assert summary["signals_total"] == 3 and summary["signals_invalid"] == 1
    audit = [json.loads(l) for l in (tmp_path / "audit.jsonl").read_text().splitlines()]
    left = [l for l in audit if l["event"] == "order_open_at_shutdown"]
    assert [l["decision"] for l in left] == ["ACCEPTED"]
    text = (tmp_path / "audit.jsonl").read_text() + out + "".join(served.stderr)
    assert not any(secret in text for secret in TOKENS.values())


def test_a_retry_after_the_process_restarted_gets_the_first_answer(tmp_path):
    config = write_config(tmp_path)
    first_process = ServeProcess(config)
    try:
        first = httpx.post(f"{first_process.url}/v1/orders",
                           headers={**TRADE, "Idempotency-Key": "restart-1"}, json=order())
    finally:
        assert first_process.stop()[0] == 0
    second_process = ServeProcess(config)
    try:
        again = httpx.post(f"{second_process.url}/v1/orders",
                           headers={**TRADE, "Idempotency-Key": "restart-1"}, json=order())
    finally:
        assert second_process.stop()[0] == 0
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
