"""Instructions per signal and per HTTP request, counted by valgrind's callgrind: a
figure that does not move with the machine's load, for changes too small to see in
wall-clock time on a shared machine.

On the development machine the same tree's durable HTTP throughput spans 490-830
signals/s from run to run, so a change worth 3-6% is invisible in seconds even as the
median of a dozen alternated runs (on 2026-12-07 two such sets disagreed in sign).
Callgrind counts the instructions the process executes instead; the cost of one unit is
the difference between two sizes divided by the difference in units, so start-up,
imports and loading cancel out:

- `replay_market_hold`: `ordergate replay` on the market_hold workload (one market order
  a quote, journal and audit log on), 1,000 and 3,000 signals by default;
- `api_no_fsync` and `api_durable`: `ordergate serve` under `bench.api_load`, 100 and
  500 requests (8 clients; the load client is a process of its own and not counted). An
  fsync is one system call whatever the disk does, so durable counts the work around it.

With `--base TREE` (a checkout's `src/`, e.g. a `git worktree` of the commit before) each
figure is counted for both trees, two processes at a time, and the ratio given. Hash
randomisation is off (`PYTHONHASHSEED=0`), so a replay's count repeats to within a few
parts in ten thousand; the HTTP figures vary a little more (which requests meet one in
flight depends on timing). Both trees' modules are compiled to bytecode first
(`processes.compile_bytecode`). About 4 minutes for everything, under valgrind's ~50x.

    python -m ordergate.bench.instructions --base /work/wt/base/src   # JSON out
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ordergate.bench.processes import compile_bytecode
from ordergate.bench.workloads import write_market_hold

_COLLECTED = re.compile(r"Collected : (\d+)")
WORKLOADS = ("replay_market_hold", "api_no_fsync", "api_durable")


def _command(workload: str, size: int, work: Path) -> list[str]:
    if workload == "replay_market_hold":
        hold = write_market_hold(work / f"market_hold-{size}", size)
        return [sys.executable, "-m", "ordergate.cli", "replay", "--signals", str(hold.signals),
                "--market", str(hold.quotes), "--config", str(hold.config),
                "--out", str(work / f"out-{size}")]
    fsync = [] if workload == "api_durable" else ["--no-fsync"]
    return [sys.executable, "-m", "ordergate.bench.api_load", *fsync, "--n", str(size),
            "--paced-n", "10", "--concurrency", "8"]


def count(command: list[str], src: Path | None, work: Path) -> int:
    """Instructions one process executes under callgrind (its children are not traced)."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    with tempfile.TemporaryDirectory(dir=work) as scratch:
        run = subprocess.run(["valgrind", "--tool=callgrind",
                              f"--callgrind-out-file={scratch}/callgrind.out", *command],
                             capture_output=True, text=True, env=env, cwd=scratch, timeout=3600)
    found = _COLLECTED.search(run.stderr)
    if run.returncode != 0 or found is None:
        raise RuntimeError(f"{' '.join(command[:4])} under callgrind exited {run.returncode}: "
                           f"{run.stderr[-1500:]}")
    return int(found.group(1))


def per_unit(workload: str, sizes: tuple[int, int], src: Path | None, work: Path,
             pool: ThreadPoolExecutor) -> dict[str, Any]:
    small, large = sizes
    runs = [pool.submit(count, _command(workload, n, work / (src.name if src else "here")),
                        src, work) for n in (small, large)]
    low, high = (run.result() for run in runs)
    return {"instructions_per_unit": round((high - low) / (large - small)),
            "instructions": {str(small): low, str(large): high}}


def measure(workloads: list[str], base: Path | None, replay_sizes: tuple[int, int],
            api_sizes: tuple[int, int]) -> dict[str, Any]:
    if shutil.which("valgrind") is None:
        return {"error": "valgrind not found (Debian: apt-get install valgrind)"}
    out: dict[str, Any] = {"measured": "instructions counted by callgrind, per signal (replay) "
                           "or per request (api): (count at the larger size - count at the "
                           "smaller) / (difference in units)"}
    for package in (Path(__file__).resolve().parents[1], *([base / "ordergate"] if base else [])):
        compile_bytecode(package)  # each process starts as an installed one does
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=2) as pool:
        work = Path(tmp)
        for workload in workloads:
            sizes = replay_sizes if workload == "replay_market_hold" else api_sizes
            here = per_unit(workload, sizes, None, work, pool)
            figure: dict[str, Any] = {"unit": "signal" if workload.startswith("replay") else
                                      "request", "sizes": list(sizes), "here": here}
            if base is not None:
                theirs = per_unit(workload, sizes, base, work, pool)
                figure["base"] = theirs
                figure["ratio_here_to_base"] = round(
                    here["instructions_per_unit"] / theirs["instructions_per_unit"], 4)
            out[workload] = figure
            print(f"{workload}: {json.dumps(figure)}", file=sys.stderr, flush=True)
    return out


def _pair(text: str) -> tuple[int, int]:
    small, large = (int(part) for part in text.split(","))
    if not 0 < small < large:
        raise argparse.ArgumentTypeError(f"two sizes, smaller first: {text}")
    return small, large


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, help="another tree's src/ to count side by side")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help=f"comma-separated, from {', '.join(WORKLOADS)}")
    parser.add_argument("--replay-sizes", type=_pair, default=(1000, 3000))
    parser.add_argument("--api-sizes", type=_pair, default=(100, 500))
    args = parser.parse_args()
    chosen = [w for w in args.workloads.split(",") if w]
    unknown = sorted(set(chosen) - set(WORKLOADS))
    if unknown:
        parser.error(f"unknown workload(s): {', '.join(unknown)}")
    base = args.base.resolve() if args.base else None
    print(json.dumps(measure(chosen, base, args.replay_sizes, args.api_sizes), indent=2))


if __name__ == "__main__":
    main()
