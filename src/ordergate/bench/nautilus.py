"""The side-by-side: ordergate's replay and NautilusTrader's backtest on the market_hold
workload, as whole processes (import, set-up and quote loading included), alternated
run by run (A, B, A, B) so a noisy machine slows both alike.

ordergate runs as a user runs it, `ordergate replay` with the journal and audit log on;
Nautilus runs `nautilus_worker.py` in its own venv (Python 3.12, nautilus_trader
1.231.0) on the same quotes file. Both sides' filled-order counts are reported, so a
reader can see that both did the same work.

The Nautilus interpreter is `$NAUTILUS_PYTHON`, else `.bench/nautilus/bin/python` under
the repository, created with `python3.12` when missing (unless `NAUTILUS_INSTALL=0`).
When it cannot be had, the section says why and still reports ordergate's time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ordergate.bench.processes import ProcessFailed, median, replay_command, run_process
from ordergate.bench.workloads import write_market_hold

NAUTILUS_VERSION = "1.231.0"
WORKER = Path(__file__).with_name("nautilus_worker.py")


def find_nautilus(repo: Path, install: bool) -> tuple[Path | None, str]:
    """The Nautilus interpreter and how it was found, or None and why not."""
    given = os.environ.get("NAUTILUS_PYTHON")
    if given:
        return (Path(given), "NAUTILUS_PYTHON") if Path(given).exists() else (
            None, f"NAUTILUS_PYTHON={given} does not exist")
    venv = repo / ".bench" / "nautilus"
    python = venv / "bin" / "python"
    if python.exists() and _has_nautilus(python):
        return python, str(python.relative_to(repo))
    if not install:
        return None, (f"no NautilusTrader venv at {venv} and installing is off (QUICK=1 or "
                      "NAUTILUS_INSTALL=0); set NAUTILUS_PYTHON or run with NAUTILUS_INSTALL=1")
    base = shutil.which("python3.12")
    if base is None:
        return None, ("python3.12 not found: nautilus_trader 1.231.0 needs Python >= 3.12; "
                      "set NAUTILUS_PYTHON to an interpreter that has it")
    env = {**os.environ, "PYENV_VERSION": os.environ.get("PYENV_VERSION", "3.12.1")}
    try:
        subprocess.run([base, "-m", "venv", str(venv)], check=True, capture_output=True,
                       env=env, timeout=300)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                        f"nautilus_trader=={NAUTILUS_VERSION}"], check=True,
                       capture_output=True, env=env, timeout=1200)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        tail = detail.decode(errors="replace")[-500:] if isinstance(detail, bytes) else str(detail)
        return None, f"installing nautilus_trader=={NAUTILUS_VERSION} failed: {exc}; {tail}"
    return python, f"installed into {venv.relative_to(repo)}"


def _has_nautilus(python: Path) -> bool:
    probe = subprocess.run([str(python), "-c", "import nautilus_trader"], capture_output=True)
    return probe.returncode == 0


def side_by_side(work: Path, repo: Path, n: int, repeat: int, install: bool) -> dict[str, Any]:
    workload = write_market_hold(work / "market_hold", n)
    python, how = find_nautilus(repo, install)
    ours: list[float] = []
    inside: list[float] = []
    theirs: list[float] = []
    summary: dict[str, Any] = {}
    nautilus_result: dict[str, Any] = {}
    nautilus_error: str | None = None
    for i in range(repeat):
        out = work / "market_hold" / f"out-{i}"
        run = run_process(replay_command(workload.signals, workload.quotes, workload.config, out))
        ours.append(run.seconds)
        summary = json.loads(run.stdout)
        inside.append(json.loads((out / "timings.json").read_text())["wall_seconds"])
        if python is None or nautilus_error is not None:
            continue
        try:
            theirs_run = run_process([str(python), "-W", "ignore", str(WORKER),
                                      "--quotes", str(workload.quotes)])
        except ProcessFailed as exc:
            nautilus_error = str(exc)
            continue
        theirs.append(theirs_run.seconds)
        nautilus_result = json.loads(theirs_run.stdout.strip().splitlines()[-1])
    ordergate = {
        "whole_process_seconds_median": median(ours),
        "whole_process_seconds": [round(s, 3) for s in ours],
        "replay_loop_seconds_median": median(inside),
        "orders_submitted": summary.get("orders_submitted"),
        "orders_filled": summary.get("orders_filled"),
        "fills": summary.get("fills"),
        "signals_rejected": summary.get("signals_rejected"),
        "version": _ordergate_version(),
    }
    section: dict[str, Any] = {
        "workload": ("market_hold: one BTC/USDT quote a second (random walk, spread 1.00, "
                     "size 10), one MARKET signal per quote (buy 0.002, then sell/buy 0.001 "
                     "alternately; stop 1% and take-profit 2% from the mid, checked by "
                     "ordergate's risk manager, not placed as orders by either side)"),
        "orders": n,
        "repeat": repeat,
        "measured": ("whole processes, alternated ordergate, nautilus, ordergate, ...: "
                     "`ordergate replay` (journal and audit on) vs nautilus_worker.py "
                     "(BacktestEngine, risk engine on, logging ERROR) on the same quotes CSV"),
        "ordergate": ordergate,
    }
    if python is None or nautilus_error is not None or not theirs:
        section["nautilus"] = {"available": False,
                               "why": nautilus_error or how or "no run completed"}
        return section
    nautilus = {
        "available": True,
        "interpreter": how,
        "whole_process_seconds_median": median(theirs),
        "whole_process_seconds": [round(s, 3) for s in theirs],
        **{k: nautilus_result.get(k) for k in ("orders_submitted", "fills", "rejected",
                                                "denied", "setup_seconds", "run_seconds",
                                                "peak_rss_mb", "nautilus_version", "python")},
    }
    section["nautilus"] = nautilus
    section["ratio_nautilus_over_ordergate"] = round(median(theirs) / median(ours), 2)
    return section


def _ordergate_version() -> str:
    from importlib.metadata import version

    return version("ordergate")
