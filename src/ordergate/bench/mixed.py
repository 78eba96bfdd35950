"""The realistic mixed replay: signals per second for the whole `ordergate replay`
process (interpreter start, quote loading and output writing included), the verdicts
from the run's summary.json, and whether two runs wrote the same bytes.

Byte-identical outputs are the replay's promise (a backtest one cannot repeat cannot be
trusted), so they are checked on every benchmark run, not assumed: `audit.jsonl`,
`fills.csv` and `summary.json` of the first two runs are compared.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ordergate.bench.processes import median, replay_command, run_process
from ordergate.bench.workloads import MIXED_SHARES, write_mixed

COMPARED = ("audit.jsonl", "fills.csv", "summary.json")


def mixed_workload(work: Path, n: int, repeat: int) -> dict[str, Any]:
    workload = write_mixed(work / "mixed", n)
    runs = max(repeat, 2)  # two at least: the byte-for-byte comparison needs a pair
    seconds: list[float] = []
    rss: list[float] = []
    summary: dict[str, Any] = {}
    outs = []
    for i in range(runs):
        out = work / "mixed" / f"out-{i}"
        run = run_process(replay_command(workload.signals, workload.quotes, workload.config, out))
        seconds.append(run.seconds)
        rss.append(run.peak_rss_mb)
        summary = json.loads(run.stdout)
        outs.append(out)
    differing = [name for name in COMPARED if _digest(outs[0] / name) != _digest(outs[1] / name)]
    wall = median(seconds)
    return {
        "signals": workload.signal_lines,
        "quotes": workload.quotes_count,
        "shares": {**MIXED_SHARES, "market": round(1 - sum(MIXED_SHARES.values()), 2)},
        "runs": runs,
        "whole_process_seconds_median": wall,
        "whole_process_seconds": [round(s, 3) for s in seconds],
        "signals_per_second": round(workload.signal_lines / wall, 1),
        "peak_rss_mb_median": median(rss, 1),
        "verdicts": {key: summary.get(key) for key in (
            "signals_total", "signals_invalid", "signals_rejected", "rejections_by_code",
            "invalid_by_field", "orders_submitted", "orders_filled", "orders_partially_filled",
            "orders_cancelled", "orders_expired", "orders_rejected", "fills")},
        "byte_identical": not differing,
        "compared": list(COMPARED),
        **({"differing": differing} if differing else {}),
    }


def _digest(path: Path) -> str:
    """A file's SHA-256, read a megabyte at a time: a 100k-signal audit log is a few hundred
    MB, and holding two of them here would swell this process (see `processes.py`)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
