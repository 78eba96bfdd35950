"""Whole-process runs: wall time from spawn to exit, and the child's own peak memory.

`os.wait4` returns the resource usage of exactly the child it reaped, so each run's
peak RSS is that process's, not the largest of every child this bench has started
(`RUSAGE_CHILDREN` is a running maximum). Output goes to files, not pipes: a child
writing more than a pipe holds would block while nobody reads it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ProcessRun:
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


class ProcessFailed(RuntimeError):
    pass


def run_process(command: Sequence[str], *, cwd: Path | None = None,
                env: dict[str, str] | None = None, check: bool = True) -> ProcessRun:
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        began = time.perf_counter()
        child = subprocess.Popen(list(command), stdout=out, stderr=err, cwd=cwd, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - began
        child.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        run = ProcessRun(seconds, usage.ru_maxrss / 1024, code, out.read(), err.read())
    if check and code != 0:
        raise ProcessFailed(f"{' '.join(command)} exited {code}: {run.stderr[-2000:]}")
    return run


def ordergate_command() -> list[str]:
    """The installed `ordergate` command beside this interpreter (what a user runs), or
    the module when there is no console script."""
    script = Path(sys.executable).parent / "ordergate"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ordergate.cli"]


def replay_command(signals: Path, quotes: Path, config: Path, out: Path) -> list[str]:
    return [*ordergate_command(), "replay", "--signals", str(signals), "--market", str(quotes),
            "--config", str(config), "--out", str(out)]


def median(values: Sequence[float], places: int = 3) -> float:
    return round(statistics.median(values), places)
