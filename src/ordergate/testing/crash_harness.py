"""The crash test's harness (`crash_test.py`): `CrashTest` runs the lives, each one
`ordergate run` started on the shared journal, fed its signals (with the unacknowledged
ones redelivered), the venue's faults armed, waited on until the moment its plan aims at
(`crash_scenarios`) and SIGKILLed, then what was in flight and the moment reached
classified (`crash_check`) and the brackets' exits checked (`crash_brackets`); then the
final run with every signal, until every order is finished, and the figures. `schedule`
says what each life aims at. Apart from the command line (`crash_test.py`) and the
settings (`crash_settings.py`) so that how a run goes is read on its own."""

from __future__ import annotations

import json
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

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
    note_uncommitted_fills,
    passed,
    read_audit,
)
from ordergate.testing.crash_procs import (
    EmulatorProcess,
    EngineProcess,
    FillKey,
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
    VENUE_SYMBOL,
    Plan,
    Signal,
    SignalMaker,
    make_plan,
)
from ordergate.testing.crash_settings import (
    BALANCES,
    FINAL_TIMEOUT_S,
    OVERRIDES,
    POLL_S,
    TRIGGER_TIMEOUT_S,
    Options,
    env_name,
)


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
        # trade -> killed lives that audited it uncommitted (`crash_check.note_uncommitted_fills`)
        self.uncommitted_fill_lines: Counter[FillKey] = Counter()
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
        note_uncommitted_fills(audit, journal, self.uncommitted_fill_lines)
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
        except ValueError:  # no summary printed: `run` reports it as a problem, not silently
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
                except ValueError:  # a line torn by a kill: `read_audit` counts those
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
        audit.uncommitted_fill_lines = self.uncommitted_fill_lines
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
