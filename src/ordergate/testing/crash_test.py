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

Here: the command line (`parse_args`, `main`). The harness that runs the lives and the
final run is `crash_harness` (`CrashTest`, `schedule`); the options, the overrides, the
starting balances and the timeouts are `crash_settings`. Their names are re-exported here.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ordergate.testing import crash_blocks
from ordergate.testing.crash_harness import CrashTest, _Watch, schedule
from ordergate.testing.crash_scenarios import PLANS
from ordergate.testing.crash_settings import (
    BALANCES,
    FINAL_TIMEOUT_S,
    OVERRIDES,
    POLL_S,
    TRIGGER_TIMEOUT_S,
    Options,
    default_config,
    env_name,
)

__all__ = [
    "BALANCES", "BLOCKS_PLAN", "FINAL_TIMEOUT_S", "OVERRIDES", "POLL_S", "TRIGGER_TIMEOUT_S",
    "CrashTest", "Options", "_Watch", "default_config", "env_name", "main", "parse_args",
    "schedule",
]

BLOCKS_PLAN = "blocks"
"""The multi-account plan (`crash_blocks`): it runs alone, with its own configuration."""


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
