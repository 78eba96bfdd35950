"""The crash test's multi-account plan (`--plans blocks`): blocks over two accounts, each
on its own Binance API key, SIGKILLed during allocation and during a failover.

    python -m ordergate.testing.crash_test --plans blocks --kills 20 --seed 7

One emulator process serves two keys (`--account`), each its own account holding
10 000 000 USDT and no BTC; the engine (`ordergate run`, a configuration written here)
has three ccxt venues on it, one per key: `binance-a` (account alpha, the default key),
`binance-b` (beta) and `binance-c` (gamma), and two groups: `desk` (alpha and beta,
`equity`: each gets a child) and `backup` (gamma then alpha, `failover`: gamma takes all;
its key is short of free USDT, locked by another order, so its equity still admits the
child, the venue refuses it -2010 and it fails over to alpha's key at 95%). Each life
feeds block signals (market buys) and kills at one moment:
- `between_children`: a `desk` block's first child is at the venue (alpha's key holds
  its order), the second (beta's) not yet or just placed; or beta's order request is
  held at the venue (a delay before processing, for beta's key only) and dies with the
  connection (`..._held`) or executes after the kill (`..._in_transit`, detached);
- `during_failover`: a `backup` block's child was refused at gamma's key (the journal
  shows it REJECTED), and the kill lands before or after the re-route to alpha's key,
  or while alpha's order request is held or in transit, as above;
- `random`: after a random delay (start-up and recovery too).
Signals are redelivered until acknowledged, as in the single-account test; after the
last kill one more run takes every signal and stops at the end of its input.

The verdict, key by key, is `crash_blocks_check.figures`: duplicates, lost and phantom
fills, per-account position drift, blocks without outcome, anything left working, the
engine's own drift reports; each must be 0.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.testing.binance_emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET
from ordergate.testing.crash_blocks_check import figures, passed
from ordergate.testing.crash_check import read_audit
from ordergate.testing.crash_procs import (
    EmulatorProcess,
    EngineProcess,
    JournalSnapshot,
    read_journal,
)

BLOCK_PLANS = ("between_children", "during_failover", "random")
STRATEGY, SYMBOL, VENUE_SYMBOL = "crash", "BTC/USDT", "BTCUSDT"
KEYS = {"alpha": (DEFAULT_API_KEY, DEFAULT_API_SECRET),
        "beta": ("crash-key-beta-5e1c", "crash-secret-beta-9a07"),
        "gamma": ("crash-key-gamma-7d2f", "crash-secret-gamma-3b64")}
VENUES = {"alpha": "binance-a", "beta": "binance-b", "gamma": "binance-c"}
BALANCES = {"BTC": "0", "ETH": "0", "USDT": "10000000"}
SHORT = ("10", "9999990")
"""gamma's USDT, free and locked: 10 000 000 of equity (the risk manager admits its child)
that the venue finds it cannot pay for (-2010)."""
LOT = Decimal("0.00001")
BOOK_BIDS = (("49999.00", "50"), ("49998.00", "100"))
BOOK_ASKS = (("50001.00", "50"), ("50002.00", "100"))
TRIGGER_TIMEOUT_S, FINAL_TIMEOUT_S, POLL_S = 20.0, 90.0, 0.02


@dataclass(frozen=True, slots=True)
class Block:
    signal_id: str
    group: str
    quantity: Decimal
    ts: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def child_id(self, account: str) -> str:
        return client_order_id_for(STRATEGY, account, self.signal_id)

    def line(self) -> str:
        return json.dumps({
            "signal_id": self.signal_id, "ts": self.ts, "strategy_id": STRATEGY,
            "account_id": self.group, "venue": VENUES["alpha"], "symbol": SYMBOL,
            "side": "buy", "order_type": "market", "quantity": str(self.quantity)}) + "\n"


def config_text(base_url: str) -> str:
    """The engine's configuration: two venues on one emulator, one key each."""
    venues = "".join(f"""
[venues.{VENUES[a]}]
kind = "ccxt"
exchange = "binance"
market_type = "spot"
api_url = "{base_url}"
api_key_env = "CRASH_{a.upper()}_KEY"
secret_env = "CRASH_{a.upper()}_SECRET"
account_id = "{a}"
timeout_s = 10.0

[venues.{VENUES[a]}.rate_limit]
rate_per_s = 50.0
burst = 50

[accounts.{a}]
venue = "{VENUES[a]}"
""" for a in KEYS)
    return f"""# written by ordergate.testing.crash_blocks
[validator]
max_signal_age_s = 3600

[risk]
max_order_notional = "100000"
max_open_positions = 10

[executor]
max_attempts = 5
backoff_base_s = 0.2
backoff_cap_s = 2.0
resend_after_s = 10
clock_skew_margin_s = 1

[reconciler]
fill_timeout_s = 0.5
poll_interval_s = 0.2

[recovery]
absent_order_policy = "fail"

[reconciliation]
interval_s = 0
accounts = ["alpha", "beta", "gamma"]
compare_balances = true
cold_start = "adopt"

[journal]
durable = true

[groups.desk]
accounts = ["alpha", "beta"]
policy = "equity"

[groups.backup]
accounts = ["gamma", "alpha"]
policy = "failover"
{venues}"""


class BlocksCrashTest:
    def __init__(self, kills: int, seed: int, workdir: Path, verbose: bool = False) -> None:
        self.kills, self.seed, self.dir, self.verbose = kills, seed, workdir, verbose
        self.journal_path = workdir / "journal.sqlite"
        self.blocks: dict[str, Block] = {}
        self.refused: set[str] = set()
        self.aims: list[str] = []
        self._n = 0
        self._tag = f"{seed}-{int(time.time())}"
        for sub in ("audit", "engine"):
            (workdir / sub).mkdir(parents=True, exist_ok=True)
        extra = [(KEYS[a][0], KEYS[a][1], BALANCES) for a in ("beta", "gamma")]
        self.emu = EmulatorProcess(workdir, BALANCES, extra)
        self.emu.set_balance("USDT", *SHORT, api_key=KEYS["gamma"][0])
        self.config = workdir / "blocks.toml"
        self.config.write_text(config_text(self.emu.base_url), encoding="utf-8")
        self.engine: EngineProcess | None = None

    def close(self) -> None:
        if self.engine is not None and self.engine.alive():
            self.engine.kill()
        self.emu.stop()

    def _start(self, life: str) -> EngineProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE__")}
        for account, (api_key, secret) in KEYS.items():
            env[f"CRASH_{account.upper()}_KEY"], env[f"CRASH_{account.upper()}_SECRET"] = (
                api_key, secret)
        env["ORDERGATE__JOURNAL__PATH"] = str(self.journal_path)
        env["ORDERGATE__AUDIT__PATH"] = str(self.dir / "audit" / f"{life}.jsonl")
        self.engine = EngineProcess(self.config, env, self.dir / "engine" / f"{life}.out",
                                    self.dir / "engine" / f"{life}.err")
        return self.engine

    def _block(self, rng: random.Random, group: str) -> Block:
        self._n += 1
        lots = rng.randint(int(Decimal("0.002") / LOT), int(Decimal("0.2") / LOT))
        return Block(f"cb-{self._tag}-{self._n:04d}", group, lots * LOT)

    def _unacked(self, journal: JournalSnapshot) -> list[Block]:
        acked = journal.signal_ids | self.refused
        return [b for b in self.blocks.values() if b.signal_id not in acked]

    def life(self, n: int, aim: str) -> str:
        rng = random.Random(f"{self.seed}/blocks/{n}")
        self.emu.clear_faults()
        self.emu.set_book(VENUE_SYMBOL, BOOK_BIDS, BOOK_ASKS)
        fault = self._fault(aim, rng)
        if fault is not None:
            self.emu.fault(**fault)
        group = "backup" if aim == "during_failover" else "desk"
        new = [self._block(rng, group) for _ in range(rng.randint(1, 2))]
        feed = self._unacked(read_journal(self.journal_path)) + new
        for block in new:
            self.blocks[block.signal_id] = block
        life = f"life-{n:03d}"
        engine = self._start(life)
        engine.feed(b.line() for b in feed)
        moment = self._await(aim, engine, new, rng, fault is not None)
        engine.kill()
        moment = self._classify(moment, new, fault)
        self.emu.clear_faults()
        audit = read_audit([self.dir / "audit" / f"{life}.jsonl"])
        for signal_id, codes in audit.refused.items():
            if codes - {"DUPLICATE_SIGNAL"} and signal_id in self.blocks:
                self.refused.add(signal_id)
        self.aims.append(moment)
        return f"{moment} (aimed at {aim}) {time.monotonic() - engine.started:.2f}s after start"

    @staticmethod
    def _fault(aim: str, rng: random.Random) -> dict[str, Any] | None:
        """A third of the lives hold the second child's (or the re-route's) order request
        at the venue, for that key only: dying with the connection, or executing later."""
        if aim == "random" or (pick := rng.randrange(3)) == 0:
            return None
        account = "beta" if aim == "between_children" else "alpha"
        detached = pick == 2
        return {"method": "POST", "path": "/api/v3/order", "kind": "delay",
                "delay_s": rng.uniform(0.3, 1.0) if detached else 3.0,
                "after_processing": False, "detached": detached,
                "api_key": KEYS[account][0]}

    def _await(self, aim: str, engine: EngineProcess, new: list[Block],
               rng: random.Random, faulted: bool) -> str:
        start = time.monotonic()
        if aim == "random":
            time.sleep(rng.uniform(0.2, 3.0))
            return "random"
        first = {b.child_id("alpha") for b in new}
        refused = {b.child_id("gamma") for b in new}
        while time.monotonic() - start < TRIGGER_TIMEOUT_S and engine.alive():
            if faulted:
                if any(f["hits"] for f in self.emu.state()["faults"]):
                    time.sleep(rng.uniform(0.0, 0.2))
                    return aim
            elif aim == "between_children":
                orders = self.emu.state()["orders"]
                if any(o["clientOrderId"] in first for o in orders):
                    time.sleep(rng.uniform(0.0, 0.1))
                    return aim
            else:
                journal = read_journal(self.journal_path)
                if any(journal.orders.get(c, {}).get("status") == "REJECTED" for c in refused):
                    time.sleep(rng.uniform(0.0, 0.3))
                    return aim
            time.sleep(POLL_S)
        return f"{aim} (timed out)"

    def _classify(self, moment: str, new: list[Block], fault: dict[str, Any] | None) -> str:
        """What the venue held of the life's new blocks when the kill landed: the second
        child (beta's) or the re-route (alpha's) placed already, or not yet, or its
        request held at the venue."""
        if moment not in BLOCK_PLANS[:2]:
            return moment
        base = "second_child" if moment == "between_children" else "reroute"
        if fault is not None:
            return f"{base}_in_transit" if fault["detached"] else f"{base}_held"
        second = "beta" if moment == "between_children" else "alpha"
        counts = self.emu.state()["accounts"][KEYS[second][0]]["client_order_id_counts"]
        placed = any(b.child_id(second) in counts for b in new)
        if moment == "between_children":
            return "after_both_children" if placed else "between_children"
        return "after_reroute" if placed else "before_reroute"

    def final_run(self) -> tuple[int, dict[str, Any] | None]:
        self.emu.clear_faults()
        time.sleep(1.5)  # a request held detached in the last life lands first
        audit_path = self.dir / "audit" / "final.jsonl"
        engine = self._start("final")
        engine.feed(b.line() for b in self.blocks.values())
        deadline = time.monotonic() + FINAL_TIMEOUT_S
        while time.monotonic() < deadline and engine.alive():
            audit = read_audit([audit_path])
            journal = read_journal(self.journal_path)
            if not journal.open_orders() and set(self.blocks) <= (
                    set(audit.decided) | set(audit.refused)):
                break
            time.sleep(0.1)
        code, out = engine.finish(timeout=30.0)
        try:
            summary: dict[str, Any] = json.loads(out)
        except ValueError:
            return code, None
        return code, summary

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        rng = random.Random(f"{self.seed}/blocks/schedule")
        schedule: list[str] = []
        while len(schedule) < self.kills:
            round_ = list(BLOCK_PLANS)
            rng.shuffle(round_)
            schedule += round_
        for n, aim in enumerate(schedule[:self.kills]):
            what = self.life(n, aim)
            if self.verbose:
                print(f"kill {n + 1}/{self.kills}: {what}", file=sys.stderr, flush=True)
        code, summary = self.final_run()
        state, journal = self.emu.state(), read_journal(self.journal_path)
        audit = read_audit(sorted((self.dir / "audit").glob("*.jsonl")))
        engine_position = None
        if summary is not None and code == 0:
            engine_position = Decimal(summary.get("positions", {}).get(SYMBOL, "0"))
        result, problems = figures(self.blocks, state, journal, audit, engine_position, KEYS)
        if code != 0:
            problems.append(f"the final run exited with status {code}")
        (self.dir / "problems.txt").write_text("".join(p + "\n" for p in problems))
        moments = {m: self.aims.count(m) for m in sorted(set(self.aims))}
        return {"kills": len(self.aims), **result, "kills_by_moment": moments,
                "final_run_exit": code, "seed": self.seed,
                "elapsed_s": round(time.monotonic() - started, 1),
                "ok": passed(result) and code == 0, "problems": problems}
