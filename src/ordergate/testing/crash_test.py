"""The crash test: `ordergate run` SIGKILLed at chosen moments, restarted, and checked
against the venue's own records.

    python -m ordergate.testing.crash_test --kills 50 --seed 7      (or scripts/crash-test)

The Binance emulator runs as its own process (the venue: it outlives every engine), the
account holding no BTC (nor ETH) and 10 000 000 USDT. Each *life* starts `ordergate run` with the
shipped `config/binance-testnet.toml` on one journal, feeds it signals on stdin, arms
faults at the venue, waits for the moment it aims at (see `crash_scenarios`), and
SIGKILLs it. Signals are delivered at least once, as a decision engine would: every
signal the engine had not acknowledged (no order in the journal, no refusal in the audit
log) is fed again on the next start, plus a few it had (they must be refused as
DUPLICATE_SIGNAL). After the last kill the engine is started once more with every
signal, runs until every order is finished (resting ones are cancelled by the
reconciler's fill timeout), and stops at the end of its input. Then `crash_check`
compares journal, audit logs and the engine's summary with the emulator.

Brackets (the `bracket_exits` plan): their exits rest at stop-losses and take-profits
far from the book, exempt from the fill timeout. After every kill the venue's records
are checked for exits that outgrow what their entry left open (`crash_brackets`); the
final run, once everything else is finished, checks that every filled entry is covered
by its stop-loss, then moves the market through every stop-loss (another participant
trades at `CRASH_PRICE` against a deep book), so the stops trigger and fill and the
engine finishes its brackets before it stops.

Blocks over several accounts (`--plans blocks`, alone): `crash_blocks`, three API keys
at the emulator, kills between a block's children and during failovers, figures per key.

The last line on stdout is one JSON object: `kills`, `duplicate_orders`, `lost_fills`,
`position_drift`, `signals_without_outcome` first, then the other figures (`crash_check`),
the kills by moment (`start_up`: killed before the engine took a signal, i.e. while it
loaded markets, recovered and reconciled), `slowest_start_s` (the longest a restarted
engine took to take its first signal), the seed and the elapsed time. The exit status is 0 only when every figure is
right. A failed run keeps its work directory (journal, audit logs, engine output, a list
of the problems); `--keep` keeps it anyway.

Settings the crash test changes from the shipped configuration (environment overrides,
listed in `OVERRIDES`), and why:
- `validator.max_signal_age_s = 3600`: a redelivered signal keeps its original timestamp;
- `risk.max_order_notional = 100000`: large market orders walk several book levels;
- `reconciler.fill_timeout_s = 0.5`, `poll_interval_s = 0.2`: resting orders are polled
  and cancelled within a second, so lives are short and cancels are frequent;
- `venues.binance.rate_limit.rate_per_s = burst = 50`: the final run redelivers every
  signal (one ticker request each) without queueing behind the 10/s bucket.
The executor's resend rule (`resend_after_s` 10 s + `clock_skew_margin_s` 1 s, Binance's
request window) and the recovery policy (`absent_order_policy = "fail"`) are the shipped
ones; `--set KEY=VALUE` changes any key (e.g. `--set recovery.absent_order_policy=resubmit`).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordergate.testing import crash_blocks
from ordergate.testing.crash_brackets import (
    brackets_at_venue,
    exit_ids,
    exits_over_position,
    is_resting_exit,
    unprotected_entries,
)
from ordergate.testing.crash_check import (
    InFlight,
    classify_kill,
    figures,
    kills_by_moment,
    passed,
    read_audit,
)
from ordergate.testing.crash_procs import (
    EmulatorProcess,
    EngineProcess,
    JournalSnapshot,
    engine_env,
    journal_has_any,
    read_journal,
)
from ordergate.testing.crash_scenarios import (
    BOOK_ASKS,
    BOOK_BIDS,
    CRASH_BOOK,
    CRASH_PRICE,
    PLANS,
    VENUE_SYMBOL,
    Plan,
    Signal,
    SignalMaker,
    make_plan,
)

BLOCKS_PLAN = "blocks"
"""The multi-account plan (`crash_blocks`): it runs alone, with its own configuration."""

OVERRIDES = {
    "validator.max_signal_age_s": "3600",
    "risk.max_order_notional": "100000",
    "reconciler.fill_timeout_s": "0.5",
    "reconciler.poll_interval_s": "0.2",
    "venues.binance.rate_limit.rate_per_s": "50",
    "venues.binance.rate_limit.burst": "50",
}
BALANCES = {"BTC": "0", "ETH": "0", "USDT": "10000000"}  # nothing held but cash
TRIGGER_TIMEOUT_S = 8.0   # a life whose moment never comes is killed anyway
FINAL_TIMEOUT_S = 60.0    # the last run must finish every order within this
POLL_S = 0.02


def default_config() -> Path:
    return Path(__file__).resolve().parents[3] / "config" / "binance-testnet.toml"


def env_name(key: str) -> str:
    return "ORDERGATE__" + "__".join(part.upper() for part in key.split("."))


@dataclass(slots=True)
class Options:
    kills: int = 50
    seed: int = 0
    config: Path = field(default_factory=default_config)
    workdir: Path | None = None
    keep: bool = False
    plans: tuple[str, ...] = PLANS
    settings: dict[str, str] = field(default_factory=dict)
    verbose: bool = False


@dataclass(slots=True)
class _Watch:
    """Fault hits seen while a life ran: when each fault was first seen hit."""

    first_hit: dict[int, float] = field(default_factory=dict)

    def update(self, state: dict[str, Any]) -> None:
        for i, fault in enumerate(state["faults"]):
            if fault["hits"] and i not in self.first_hit:
                self.first_hit[i] = time.monotonic()

    def hit(self, state: dict[str, Any], method: str) -> bool:
        return any(f["hits"] for f in state["faults"] if f["method"] == method)


class CrashTest:
    def __init__(self, options: Options, workdir: Path) -> None:
        self.o = options
        self.dir = workdir
        self.rng = random.Random(options.seed)
        self.maker = SignalMaker(self.rng, f"{options.seed}-{int(time.time())}")
        self.journal_path = workdir / "journal.sqlite"
        self.signals: dict[str, Signal] = {}  # every signal fed, in order
        self.refused: set[str] = set()        # signals the engine refused (audited)
        self.moments: list[str] = []
        self.start_s: list[float] = []  # per life: from the process start to its first signal
        self.late_until = 0.0  # a detached order request may execute until then
        self.exit_problems: list[str] = []    # exits over position, seen after any kill
        self.unprotected: list[str] = []      # filled entries without their stop, at the end
        self.schedule = schedule(options.plans, options.kills, options.seed)
        overrides = OVERRIDES | options.settings
        self.overrides = {env_name(k): v for k, v in overrides.items()}
        for sub in ("audit", "engine"):
            (workdir / sub).mkdir(parents=True, exist_ok=True)
        self.emu = EmulatorProcess(workdir, BALANCES)
        self.engine: EngineProcess | None = None

    def close(self) -> None:
        """Stop what is still running (an interrupted run leaves an engine alive)."""
        if self.engine is not None and self.engine.alive():
            self.engine.kill()
        self.emu.stop()

    # ------------------------------------------------------------ one life

    def _start(self, life: str) -> EngineProcess:
        env = engine_env(self.emu.base_url, self.journal_path,
                         self.dir / "audit" / f"{life}.jsonl", self.overrides)
        self.engine = EngineProcess(self.o.config, env, self.dir / "engine" / f"{life}.out",
                                    self.dir / "engine" / f"{life}.err")
        return self.engine

    @property
    def entries(self) -> list[str]:
        """Client order IDs of the protected entries fed so far."""
        return [s.client_order_id for s in self.signals.values() if s.protected]

    def _redeliveries(self, journal: JournalSnapshot) -> list[Signal]:
        acked = journal.signal_ids | self.refused
        unacked = [s for s in self.signals.values() if s.signal_id not in acked]
        seen = sorted(acked & set(self.signals))
        again = self.rng.sample(seen, k=min(2, len(seen)))
        return unacked + [self.signals[i] for i in again]

    def life(self, n: int) -> str:
        # One generator per life: what a life aims at and arms does not depend on how
        # earlier lives happened to go, so a seed names the same schedule every time.
        self.rng = self.maker.rng = random.Random(f"{self.o.seed}/{n}")
        self.emu.clear_faults()
        self.emu.set_book(VENUE_SYMBOL, BOOK_BIDS, BOOK_ASKS)
        journal = read_journal(self.journal_path)
        state = self.emu.state()
        free_btc = Decimal(state["balances"]["BTC"]["free"])
        plan = make_plan(self.schedule[n], self.rng, self.maker, free_btc)
        for fault in plan.faults:
            self.emu.fault(**fault)
        before = {o["orderId"] for o in state["orders"]}
        feed = self._redeliveries(journal) + plan.signals
        for signal in plan.signals:
            self.signals[signal.signal_id] = signal
        engine = self._start(f"life-{n:03d}")
        engine.feed(s.line() for s in feed)
        watch = _Watch()
        self._await(plan, engine, before, watch, self.dir / "audit" / f"life-{n:03d}.jsonl")
        engine.kill()
        killed_at = time.monotonic()
        state, journal = self.emu.state(), read_journal(self.journal_path)
        watch.update(state)
        audit = read_audit([self.dir / "audit" / f"life-{n:03d}.jsonl"])
        if audit.first_signal_at is not None:
            self.start_s.append(audit.first_signal_at - engine.started_wall)
        # Past start-up: it audited a signal, or journaled an order during this life (the
        # audit lines of a signal killed in its first send may never have been written).
        took_signal = audit.signals_received > 0 or any(
            datetime.fromisoformat(o["created_at"]).timestamp() >= engine.started_wall
            for o in journal.orders.values())
        in_flight = self._in_flight(state, watch, killed_at, took_signal)
        moment = classify_kill(journal, state, in_flight,
                               {s.client_order_id for s in self.signals.values()},
                               [s.client_order_id for s in plan.signals if s.protected])
        self.exit_problems += [f"after kill {n + 1}: {p}" for p in
                               exits_over_position(brackets_at_venue(self.entries, state))]
        self.emu.clear_faults()
        for signal_id, codes in audit.refused.items():
            if codes - {"DUPLICATE_SIGNAL"}:
                self.refused.add(signal_id)
        self.refused |= audit.invalid
        self.moments.append(moment)
        return f"{moment} (aimed at {plan.aim}) {killed_at - engine.started:.2f}s after start"

    def _await(self, plan: Plan, engine: EngineProcess, before: set[int], watch: _Watch,
               audit: Path) -> None:
        """Wait for the plan's moment (or the timeout), doing the venue's part on the way.
        A life whose new signals were all refused (a HALTED engine refuses everything) has
        no moment coming: it is killed once the refusals are audited."""
        start = engine.started
        deadline = start + (plan.delay_s if plan.trigger == "delay" else TRIGGER_TIMEOUT_S)
        targets = {s.client_order_id: s for s in plan.signals}
        filled = False
        checked_refusals = 0.0
        while time.monotonic() < deadline and engine.alive():
            if plan.trigger != "delay" and time.monotonic() - checked_refusals > 0.2:
                checked_refusals = time.monotonic()
                refused = read_audit([audit]).refused
                if all(refused.get(s.signal_id, set()) - {"DUPLICATE_SIGNAL"}
                       for s in plan.signals):
                    break
            if plan.trigger == "journal":
                if journal_has_any(self.journal_path, targets):
                    return  # kill at once: racing the send
                time.sleep(0.002)
                continue
            state = self.emu.state()
            watch.update(state)
            if plan.trigger == "post_hit" and watch.hit(state, "POST"):
                break
            if plan.trigger == "venue_order" and any(
                    o["orderId"] not in before for o in state["orders"]):
                break
            if plan.trigger == "venue_filled" and any(
                    o["clientOrderId"] in targets and o["status"] == "FILLED"
                    for o in state["orders"]):
                break
            if plan.trigger == "delete_hit" and watch.hit(state, "DELETE"):
                if plan.partial_fill:
                    self._fill_part(state, targets)
                break
            if plan.trigger == "resting" and not filled and self._fill_part(state, targets):
                filled = True
                if not plan.wait_trades_fetch:
                    break
            if filled and plan.wait_trades_fetch and watch.hit(state, "GET"):
                break
            time.sleep(POLL_S)
        time.sleep(plan.settle_s)

    def _fill_part(self, state: dict[str, Any], targets: dict[str, Signal]) -> bool:
        """Another participant trades part of one of our resting orders."""
        for order in state["orders"]:
            if order["clientOrderId"] in targets and order["status"] in ("NEW", "PARTIALLY_FILLED"):
                left = Decimal(order["origQty"]) - Decimal(order["executedQty"])
                share = Decimal(str(self.rng.uniform(0.2, 0.7)))
                qty = max((left * share).quantize(Decimal("0.00001")), Decimal("0.00001"))
                self.emu.trade(VENUE_SYMBOL, order["price"], str(min(qty, left)))
                return True
        return False

    def _in_flight(self, state: dict[str, Any], watch: _Watch, killed_at: float,
                   signals_read: bool) -> InFlight:
        held, detached, deletes = 0, False, 0
        for i, fault in enumerate(state["faults"]):
            if not fault["hits"]:
                continue
            if fault["method"] == "DELETE":
                deletes += fault["hits"]
            elif fault["method"] == "POST" and fault["kind"] == "delay" and not fault["after_processing"]:
                first = watch.first_hit.get(i, killed_at)
                if killed_at - first < fault["delay_s"]:
                    held += 1
                    detached = detached or fault["detached"]
                    if fault["detached"]:  # it will execute: wait for it before the final checks
                        self.late_until = max(self.late_until, first + fault["delay_s"] + 0.5)
        return InFlight(held, detached, deletes, signals_read)

    # ------------------------------------------------------------ the last run

    def final_run(self) -> tuple[int, dict[str, Any] | None]:
        """Every signal once more; run until all orders are finished; stop at end of input."""
        self.emu.clear_faults()
        self.emu.set_book(VENUE_SYMBOL, BOOK_BIDS, BOOK_ASKS)
        audit_path = self.dir / "audit" / "final.jsonl"
        engine = self._start("final")  # at once, like every restart: late originals may land
        engine.feed(s.line() for s in self.signals.values())
        deadline = time.monotonic() + FINAL_TIMEOUT_S
        settled = False
        while time.monotonic() < deadline and engine.alive():
            # Done when every signal is decided, every order finished, and every order
            # request the venue still held at the last kill has landed. A bracket's exits
            # rest until the market reaches them: once all else is done (`settled`), its
            # protection is checked and the market moved through every stop-loss.
            if time.monotonic() > self.late_until and self._finished(audit_path, settled):
                if settled or not self.entries:
                    break
                settled = True
                self._crash_market()
            time.sleep(0.1)
        code, out = engine.finish(timeout=30.0)
        try:
            summary: dict[str, Any] = json.loads(out)
        except ValueError:
            return code, None
        return code, summary

    def _crash_market(self) -> None:
        """Check every filled entry is covered by its stop-loss, then trade through them."""
        state = self.emu.state()
        brackets = brackets_at_venue(self.entries, state)
        self.unprotected = unprotected_entries(brackets)
        self.exit_problems += [f"before the market moved: {p}" for p in exits_over_position(brackets)]
        bids, asks = CRASH_BOOK
        self.emu.set_book(VENUE_SYMBOL, bids, asks)
        self.emu.trade(VENUE_SYMBOL, str(CRASH_PRICE), "0.00001")  # the last price: stops trigger

    def _finished(self, audit_path: Path, exits_too: bool = True) -> bool:
        decided: set[str] = set()
        if audit_path.exists():
            for text in audit_path.read_text(encoding="utf-8").splitlines():
                try:
                    line = json.loads(text)
                except ValueError:
                    continue
                if line.get("event") == "handler_verdict" and (
                        line.get("decision") == "deny" or line.get("handler") == "reconciler"):
                    decided.add(str(line["signal_id"]))
        open_orders = read_journal(self.journal_path).open_orders()
        return decided >= set(self.signals) and not [
            o for o in open_orders if exits_too or not is_resting_exit(o)]

    # ------------------------------------------------------------ the whole test

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        for n in range(self.o.kills):
            what = self.life(n)
            if self.o.verbose:
                print(f"kill {n + 1}/{self.o.kills}: {what}", file=sys.stderr, flush=True)
        code, summary = self.final_run()
        state, journal = self.emu.state(), read_journal(self.journal_path)
        audit = read_audit(sorted((self.dir / "audit").glob("*.jsonl")))
        engine_position = None
        if summary is not None and code == 0:
            engine_position = Decimal(summary.get("positions", {}).get("BTC/USDT", "0"))
        result, problems = figures({i: s.client_order_id for i, s in self.signals.items()},
                                   state, journal, audit, engine_position,
                                   {cid for entry in self.entries for cid in exit_ids(entry)})
        brackets = brackets_at_venue(self.entries, state)
        self.exit_problems += [f"at the end: {p}" for p in exits_over_position(brackets)]
        result |= {"exits_over_position": len(self.exit_problems),
                   "unprotected_entries": len(self.unprotected),
                   "brackets": sum(1 for b in brackets if b.entry_filled > 0)}
        problems += self.exit_problems + [f"unprotected: {p}" for p in self.unprotected]
        if code != 0:
            problems.append(f"the final run exited with status {code}")
        (self.dir / "problems.txt").write_text("".join(p + "\n" for p in problems))
        return {"kills": len(self.moments), **result,
                "kills_by_moment": kills_by_moment(self.moments),
                "slowest_start_s": round(max(self.start_s), 1) if self.start_s else None,
                "final_run_exit": code, "seed": self.o.seed,
                "elapsed_s": round(time.monotonic() - started, 1),
                "ok": passed(result) and code == 0 and not self.exit_problems
                and not self.unprotected, "problems": problems}


def schedule(plans: Sequence[str], kills: int, seed: int) -> list[str]:
    """What each life aims at: every plan once per round, in a seeded shuffled order, so
    ten kills already cover six plans and fifty cover each eight times or more."""
    rng = random.Random(f"{seed}/schedule")
    order: list[str] = []
    while len(order) < kills:
        block = list(plans)
        rng.shuffle(block)
        order += block
    return order[:kills]


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="crash-test", description="SIGKILL `ordergate run` at chosen moments against the "
        "Binance emulator, restart it, and check it against the venue's records.")
    parser.add_argument("--kills", type=int, default=50, help="how many SIGKILLs (default 50)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    parser.add_argument("--config", type=Path, default=default_config(),
                        help="engine configuration (default: config/binance-testnet.toml)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep journal, audit logs and engine output here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory on success")
    parser.add_argument("--plans", default=",".join(PLANS),
                        help=f"moments to aim at, comma-separated (default: {','.join(PLANS)}); "
                        f"or {BLOCKS_PLAN} alone: blocks over two accounts on two keys")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="override a configuration key, e.g. recovery.absent_order_policy=resubmit")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per kill on stderr")
    args = parser.parse_args(argv)
    plans = tuple(p.strip() for p in args.plans.split(",") if p.strip())
    if BLOCKS_PLAN in plans and plans != (BLOCKS_PLAN,):
        parser.error(f"--plans {BLOCKS_PLAN} runs on its own (two accounts, its own config)")
    if unknown := [p for p in plans if p not in (*PLANS, BLOCKS_PLAN)]:
        parser.error(f"unknown plan(s) {', '.join(unknown)}; choose from {', '.join(PLANS)}")
    if args.kills < 0:
        parser.error("--kills must be 0 or more")
    settings = {}
    for item in args.settings:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--set expects KEY=VALUE, got {item!r}")
        settings[key.strip()] = value
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1_000_000)
    return Options(args.kills, seed, args.config, args.workdir, args.keep, plans or PLANS,
                   settings, args.verbose)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="ordergate-crash-"))
    workdir.mkdir(parents=True, exist_ok=True)
    test: CrashTest | crash_blocks.BlocksCrashTest
    try:
        if options.plans == (BLOCKS_PLAN,):  # several accounts on several keys
            test = crash_blocks.BlocksCrashTest(options.kills, options.seed, workdir,
                                                options.verbose)
        else:
            test = CrashTest(options, workdir)
    except (OSError, RuntimeError) as exc:
        print(f"crash-test: cannot start the emulator: {exc}", file=sys.stderr)
        return 2
    try:
        report = test.run()
    finally:
        test.close()
    problems = report.pop("problems")
    for problem in problems[:20]:
        print(f"crash-test: {problem}", file=sys.stderr)
    if len(problems) > 20:
        print(f"crash-test: ... {len(problems) - 20} more in {workdir / 'problems.txt'}",
              file=sys.stderr)
    if report["ok"] and not options.keep and options.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        report["workdir"] = str(workdir)
    print(json.dumps(report), flush=True)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
