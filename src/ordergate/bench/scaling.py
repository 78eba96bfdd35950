"""Scaling: the market_hold replay at growing sizes, each in a fresh process, so each
peak RSS is that run's alone. Per-signal cost that grows with the run's length (a scan
over history, a list that is never trimmed) shows as the ratio of the largest size's
cost to the smallest's; memory that grows with history shows in peak RSS.

Per-signal cost is given twice: for the whole process (start-up spread over the
signals, so small runs look dearer) and inside the replay loop (`timings.json`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from ordergate.bench.processes import replay_command, run_process
from ordergate.bench.workloads import write_market_hold


def scaling(work: Path, sizes: list[int]) -> dict[str, Any]:
    rows: dict[str, dict[str, Any]] = {}
    for n in sizes:
        directory = work / f"scaling-{n}"
        workload = write_market_hold(directory, n)
        run = run_process(replay_command(workload.signals, workload.quotes, workload.config,
                                         directory / "out"))
        loop = json.loads((directory / "out" / "timings.json").read_text())["wall_seconds"]
        summary = json.loads(run.stdout)
        rows[str(n)] = {
            "whole_process_seconds": round(run.seconds, 3),
            "us_per_signal_whole_process": round(1e6 * run.seconds / n, 1),
            "replay_loop_seconds": loop,
            "us_per_signal_replay_loop": round(1e6 * loop / n, 1),
            "peak_rss_mb": round(run.peak_rss_mb, 1),
            "orders_filled": summary.get("orders_filled"),
        }
        shutil.rmtree(directory)  # a million-signal workload is some 300 MB on disk
    section: dict[str, Any] = {"workload": "market_hold, one quote per signal",
                               "sizes": rows}
    if len(sizes) >= 2:
        small, large = rows[str(min(sizes))], rows[str(max(sizes))]
        key = f"ratio_us_per_signal_{max(sizes)}_vs_{min(sizes)}"
        section[key] = {
            "replay_loop": round(large["us_per_signal_replay_loop"]
                                 / max(small["us_per_signal_replay_loop"], 1e-9), 2),
            "whole_process": round(large["us_per_signal_whole_process"]
                                   / max(small["us_per_signal_whole_process"], 1e-9), 2),
        }
    return section
