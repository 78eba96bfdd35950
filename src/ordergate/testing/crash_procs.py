"""The crash test's processes: the Binance emulator, `ordergate run`, and a read-only look
at the engine's journal. Every process here is started by us, bound to 127.0.0.1, and
stopped by us by its own pid (the emulator also stops when our end of its stdin closes,
so it cannot outlive a crash test that was itself killed).
"""

from __future__ import annotations

import json
import os
import selectors
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ordergate.testing.binance_emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET

TERMINAL = frozenset({"FILLED", "CANCELLED", "REJECTED", "EXPIRED", "FAILED"})


def _request(url: str, method: str = "GET", body: Any = None, timeout: float = 5.0) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


class EmulatorProcess:
    """`python -m ordergate.testing.binance_emulator` as our child, with its admin API."""

    def __init__(self, workdir: Path, balances: Mapping[str, str],
                 accounts: Iterable[tuple[str, str, Mapping[str, str]]] = ()) -> None:
        """`accounts`: more API keys, (key, secret, balances), each its own account."""
        args = [sys.executable, "-m", "ordergate.testing.binance_emulator", "--port", "0",
                "--stop-on-eof"]
        for asset, amount in balances.items():
            args += ["--balance", f"{asset}={amount}"]
        for key, secret, own in accounts:
            amounts = ",".join(f"{asset}={amount}" for asset, amount in own.items())
            args += ["--account", f"{key}:{secret}:{amounts}"]
        with open(workdir / "emulator.err", "w", encoding="utf-8") as err:  # the child keeps its copy
            self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=err, text=True)
        self.base_url = self._read_url(timeout=20.0)

    def _read_url(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                self.stop()
                raise RuntimeError(f"the emulator printed no address in {timeout:.0f} s")
        line = self.proc.stdout.readline()
        if "listening on " not in line:
            self.stop()
            raise RuntimeError(f"the emulator did not start: {line!r}")
        return line.rsplit(" ", 1)[1].strip()

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = _request(f"{self.base_url}/_admin/state")
        return state

    def fault(self, **fault: Any) -> None:
        _request(f"{self.base_url}/_admin/faults", "POST", fault)

    def clear_faults(self) -> None:
        _request(f"{self.base_url}/_admin/faults", "DELETE")

    def set_book(self, symbol: str, bids: Iterable[tuple[str, str]],
                 asks: Iterable[tuple[str, str]]) -> None:
        _request(f"{self.base_url}/_admin/book", "POST",
                 {"symbol": symbol, "bids": [list(lv) for lv in bids],
                  "asks": [list(lv) for lv in asks]})

    def set_balance(self, asset: str, free: str, locked: str = "0",
                    api_key: str | None = None) -> None:
        """One account's balance of an asset (the default key's unless told another)."""
        body: dict[str, Any] = {"asset": asset, "free": free, "locked": locked}
        if api_key is not None:
            body["api_key"] = api_key
        _request(f"{self.base_url}/_admin/balance", "POST", body)

    def trade(self, symbol: str, price: str, qty: str) -> list[dict[str, Any]]:
        """Another market participant trades against our resting orders at `price`."""
        trades: list[dict[str, Any]] = _request(
            f"{self.base_url}/_admin/trade", "POST",
            {"symbol": symbol, "price": price, "qty": qty})["trades"]
        return trades

    def stop(self) -> None:
        """Close its stdin (it stops at EOF); SIGTERM, then SIGKILL, if it does not."""
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        for action in (None, self.proc.terminate, self.proc.kill):
            if action is not None and self.proc.poll() is None:
                action()
            try:
                self.proc.wait(timeout=5)
                return
            except subprocess.TimeoutExpired:
                continue


def ordergate_command() -> list[str]:
    """`ordergate` from the same environment as this Python, else `python -m ordergate.cli`."""
    script = Path(sys.executable).with_name("ordergate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ordergate.cli"]


class EngineProcess:
    """One life of `ordergate run --config ...`, signals written to its stdin."""

    def __init__(self, config: Path, env: Mapping[str, str], out: Path, err: Path) -> None:
        self.out_path = out
        with open(out, "w", encoding="utf-8") as stdout, open(err, "w", encoding="utf-8") as stderr:
            self.proc = subprocess.Popen([*ordergate_command(), "run", "--config", str(config)],
                                         stdin=subprocess.PIPE, stdout=stdout, stderr=stderr,
                                         text=True, env=dict(env))
        self.started = time.monotonic()
        self.started_wall = time.time()

    def feed(self, lines: Iterable[str]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.writelines(lines)
            self.proc.stdin.flush()
        except BrokenPipeError:  # it died by itself: the checks will show why
            pass

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a power cut of the process."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._close()

    def finish(self, timeout: float) -> tuple[int, str]:
        """End of input: the engine stops in order and prints its summary."""
        self._close()
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = -9
        self._close()
        return code, self.out_path.read_text(encoding="utf-8")

    def _close(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass


def engine_env(base_url: str, journal: Path, audit: Path,
               overrides: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE__")}
    env |= {"BINANCE_API_KEY": DEFAULT_API_KEY, "BINANCE_API_SECRET": DEFAULT_API_SECRET,
            "ORDERGATE__VENUES__BINANCE__API_URL": base_url,
            "ORDERGATE__JOURNAL__PATH": str(journal), "ORDERGATE__AUDIT__PATH": str(audit)}
    return env | dict(overrides)


FillKey = tuple[str, str]


def fill_key(symbol: str, trade_id: object) -> FillKey:
    """What names one venue trade: its symbol, in the venue's spelling ("BTCUSDT": the
    emulator's state uses it, the journal the unified "BTC/USDT"), and its trade ID.
    Binance numbers trades per symbol, so the trade ID alone is ambiguous."""
    return symbol.split(":")[0].replace("/", ""), str(trade_id)


@dataclass(frozen=True, slots=True)
class JournalSnapshot:
    """What the journal holds (committed) at one moment: orders and fills."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # by client order ID
    fills: dict[FillKey, dict[str, Any]] = field(default_factory=dict)  # by fill_key
    adopted: list[dict[str, Any]] = field(default_factory=list)      # cold-start holdings

    @property
    def signal_ids(self) -> set[str]:
        return {str(o["signal_id"]) for o in self.orders.values()}

    def open_orders(self) -> list[dict[str, Any]]:
        return [o for o in self.orders.values() if o["status"] not in TERMINAL]


def read_journal(path: Path) -> JournalSnapshot:
    """Read the journal without writing to it (another process may be writing)."""
    if not path.exists():
        return JournalSnapshot()
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    db.row_factory = sqlite3.Row
    try:
        orders = {r["client_order_id"]: dict(r) for r in db.execute("SELECT * FROM orders")}
        fills = {fill_key(r["symbol"], r["trade_id"]): dict(r)
                 for r in db.execute("SELECT * FROM fills")}
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        adopted = ([dict(r) for r in db.execute("SELECT * FROM adopted_positions")]
                   if "adopted_positions" in tables else [])
    except sqlite3.OperationalError:  # not migrated yet: the first life died early
        return JournalSnapshot()
    finally:
        db.close()
    return JournalSnapshot(orders, fills, adopted)


def journal_has_any(path: Path, client_order_ids: Iterable[str]) -> bool:
    """Whether any of these orders is in the journal (committed): a cheap, frequent check."""
    wanted = list(client_order_ids)
    if not path.exists() or not wanted:
        return False
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    try:
        marks = ",".join("?" * len(wanted))
        row = db.execute(f"SELECT 1 FROM orders WHERE client_order_id IN ({marks}) LIMIT 1",
                         wanted).fetchone()
    except sqlite3.OperationalError:
        return False
    finally:
        db.close()
    return row is not None
