"""`ordergate serve` in a thread of the calling process, for tests and demos: the engine
against the simulated venue (the bundled quotes), uvicorn on 127.0.0.1 and a free port,
with its own event loop (uvloop, as `serve` has: `event_loop.py`), so a test can reach the engine (e.g. slow the venue down) and
still talk to the server only through sockets. Every server stops by itself: when
closed, and at the latest after `LIFETIME_S`."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ordergate.config import EngineConfig, load_config
from ordergate.engine import Engine
from ordergate.event_loop import run_live_loop
from ordergate.server.serve import serve

QUOTES = Path(__file__).resolve().parents[1] / "data" / "demo_quotes.csv"
LIFETIME_S = 120.0
TOKENS = {"OG_TEST_READ": "read-token-1f2e3d", "OG_TEST_TRADE": "trade-token-4c5b6a",
          "OG_TEST_ADMIN": "admin-token-7d8e9f"}
NAMES = {"read": "reader", "trade": "trader", "admin": "operator"}
"""The tokens' names in `write_config`'s configuration, by scope."""
READ = {"Authorization": f"Bearer {TOKENS['OG_TEST_READ']}"}
TRADE = {"Authorization": f"Bearer {TOKENS['OG_TEST_TRADE']}"}
ADMIN = {"Authorization": f"Bearer {TOKENS['OG_TEST_ADMIN']}"}


def write_config(tmp: Path, server: str = "", extra: str = "", tokens: bool = True) -> Path:
    token_tables = "".join(f"""
[[server.tokens]]
name = "{NAMES[scope]}"
env = "OG_TEST_{scope.upper()}"
scope = "{scope}"
""" for scope in ("read", "trade", "admin")) if tokens else ""
    path = tmp / "serve.toml"
    path.write_text(f"""
[journal]
path = "{tmp / 'journal.sqlite'}"
[audit]
path = "{tmp / 'audit.jsonl'}"
[validator]
max_signal_age_s = 1e12
{extra}
[venues.sim]
kind = "simulated"
market_data = "{QUOTES}"
[server]
host = "127.0.0.1"
port = 0
{server}
{token_tables}
""")
    return path


@dataclass
class Served:
    url: str
    engine: Engine
    loop: asyncio.AbstractEventLoop
    stop: asyncio.Event
    thread: threading.Thread
    tmp: Path

    def on_loop(self, fn: Callable[[], object]) -> None:
        """Run `fn()` on the server's loop (to touch the engine between requests)."""
        done = threading.Event()

        def call() -> None:
            try:
                fn()
            finally:
                done.set()

        self.loop.call_soon_threadsafe(call)
        assert done.wait(5)

    def audit(self) -> list[dict[str, Any]]:
        self.on_loop(self.engine.audit.flush)
        path = self.tmp / "audit.jsonl"
        return [json.loads(l) for l in path.read_text().splitlines()] if path.exists() else []

    def close(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.stop.set)
            self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the server did not stop"


def start(tmp: Path, config: Path | EngineConfig | None = None,
          environ: dict[str, str] | None = None) -> Served:
    """Serve `config` (a file, a loaded configuration, or `write_config(tmp)`'s) with the
    tokens of `environ` (default `TOKENS`); returns once the API answers."""
    config_ = config if isinstance(config, EngineConfig) else load_config(
        config or write_config(tmp))
    up = threading.Event()
    box: dict[str, Any] = {}

    def ready(url: str, engine: Engine) -> None:
        box.update(url=url, engine=engine, loop=asyncio.get_running_loop())
        up.set()

    async def main() -> None:
        stop = asyncio.Event()
        box["stop"] = stop
        asyncio.get_running_loop().call_later(LIFETIME_S, stop.set)
        await serve(config_, stop=stop, environ=TOKENS if environ is None else environ,
                    ready=ready)

    def run() -> None:
        try:
            run_live_loop(main())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc
            up.set()

    thread = threading.Thread(target=run, name="ordergate-serve-test", daemon=True)
    thread.start()
    assert up.wait(30), "the server did not come up"
    if "error" in box:
        error: BaseException = box["error"]
        raise error
    return Served(box["url"], box["engine"], box["loop"], box["stop"], thread, tmp)


def signal(signal_id: str, **extra: object) -> dict[str, object]:
    return {"signal_id": signal_id, "ts": "2026-01-02T00:10:00Z", "strategy_id": "http-test",
            "account_id": "main", "venue": "sim", "symbol": "BTC/USDT", "side": "buy",
            "quantity": "0.01", "stop_loss": "1000", "take_profit": "1000000", **extra}


def order(**extra: object) -> dict[str, object]:
    return {"symbol": "BTC/USDT", "side": "buy", "type": "market", "quantity": "0.01",
            "account": "main", "venue": "sim", **extra}


ACCOUNTS = """
[reconciliation]
accounts = ["main", "alpha", "beta"]
[accounts.alpha]
daily_risk_budget = "5000"
[accounts.beta]
min_available_margin = "1000"
max_open_positions = 3
[groups.desk]
accounts = ["alpha", "beta"]
policy = "equal"
[venues.sim.balances]
main = { USDT = "100000" }
alpha = { USDT = "60000" }
beta = { USDT = "30000" }
"""
"""`write_config(tmp, extra=ACCOUNTS)`: two accounts of blocks (`alpha`, `beta`) in one
group (`desk`, equal shares), each with its own balance at the simulated venue."""


def block(signal_id: str, **extra: object) -> dict[str, object]:
    """A signal naming the group `desk` of `ACCOUNTS`: a block, 0.01 BTC to each account."""
    return signal(signal_id, account_id="desk", quantity="0.02", **extra)
