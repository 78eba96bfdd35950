"""Whole-process runs: wall time from spawn to exit, and the child's own peak memory.

Peak RSS comes from GNU `/usr/bin/time -f %M`, wrapped around the command. Not from
this process's `wait4` or `RUSAGE_CHILDREN`: Linux carries the spawning process's own
high-water mark into the child's `ru_maxrss` across the exec, so a bench that once held
500 MB (reading two audit logs to compare them, say) would report 500 MB for every later
child, however small (measured: `python -c pass` spawned from a 300 MB parent "peaks" at
313 MB by `wait4`, 13 MB by `time`, whose own footprint is a couple of MB). Without
`/usr/bin/time` the `wait4` figure is reported and `PEAK_RSS_SOURCE` says so: it is then
at least this process's own peak. `RUSAGE_CHILDREN` would be worse still: a running
maximum over every child.

Output goes to files, not pipes: a child writing more than a pipe holds would block while
nobody reads it.
"""

from __future__ import annotations

import compileall
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


GNU_TIME = Path("/usr/bin/time")
PEAK_RSS_SOURCE = ("GNU time -f %M around each child" if GNU_TIME.exists() else
                   "wait4 ru_maxrss (no /usr/bin/time): at least the bench's own peak")


def run_process(command: Sequence[str], *, cwd: Path | None = None,
                env: dict[str, str] | None = None, check: bool = True) -> ProcessRun:
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err, \
            tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        wrapped = list(command)
        if GNU_TIME.exists():
            wrapped = [str(GNU_TIME), "-f", "%M", "-o", rss.name, *wrapped]
        began = time.perf_counter()
        child = subprocess.Popen(wrapped, stdout=out, stderr=err, cwd=cwd, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - began
        child.returncode = code = os.waitstatus_to_exitcode(status)
        peak_kb = float(usage.ru_maxrss)
        if GNU_TIME.exists():
            lines = rss.read().split()  # "Command exited with non-zero status N" first, if so
            peak_kb = float(lines[-1]) if lines and lines[-1].isdigit() else float("nan")
        out.seek(0)
        err.seek(0)
        run = ProcessRun(seconds, peak_kb / 1024, code, out.read(), err.read())
    if check and code != 0:
        raise ProcessFailed(f"{' '.join(command)} exited {code}: {run.stderr[-2000:]}")
    return run


def compile_bytecode(package: Path) -> bool:
    """Compile `package`'s modules to bytecode (`__pycache__`) where it is missing or older
    than its source, so each measured process starts as an installed ordergate does;
    False if a module would not compile.

    Why: an editable install (`pip install -e`, what `scripts/install` makes) leaves
    bytecode to the first import, and where `PYTHONDONTWRITEBYTECODE` is set (this
    development machine; many container images) that never writes it: every process
    compiled the 136 modules of ordergate's that a replay imports again, about 0.75G
    instructions and 200 ms a start on this machine (callgrind: `import ordergate.cli`
    2.24G from source, 1.49G from bytecode). A wheel's install compiles them, as
    NautilusTrader's did for the side by side. Measured so, a benchmark counted a cost no
    installed engine pays."""
    return bool(compileall.compile_dir(str(package), quiet=2))


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


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50, p99 and the maximum, to 0.1; null for what too few values cannot tell (JSON
    has no NaN)."""
    if len(values) < 2:
        return {"p50": round(values[0], 1) if values else None, "p99": None}
    cuts = statistics.quantiles(values, n=100)
    return {"p50": round(cuts[49], 1), "p99": round(cuts[98], 1), "max": round(max(values), 1)}
