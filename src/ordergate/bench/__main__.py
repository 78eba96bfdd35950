"""`python -m ordergate.bench` (what `scripts/bench` runs): every section, one JSON object.

Sizes come from the environment, so a quick look and the full run are the same code:
`QUICK=1` shrinks everything (a run well under a minute, no Nautilus install), and
`REPEAT`, `NAUTILUS_N`, `MIXED_N`, `SCALING_SIZES`, `QUOTES_N`, `LIVE_N` set one each.
`BENCH_SECTIONS` (or `--sections`) picks sections by name, comma-separated.
A section that fails is reported as `{"error": ...}`; the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ordergate.bench.live_path import measure as live_measure
from ordergate.bench.mixed import mixed_workload
from ordergate.bench.nautilus import side_by_side
from ordergate.bench.processes import PEAK_RSS_SOURCE, compile_bytecode, run_process
from ordergate.bench.quotes import quote_loading
from ordergate.bench.scaling import scaling

SECTIONS = ("nautilus_side_by_side", "mixed_workload", "scaling", "resting_orders",
            "quote_loading", "live_path", "api_load", "allocation")
RESTING_MODULE = "ordergate.bench.resting"


@dataclass(frozen=True, slots=True)
class Sizes:
    quick: bool
    repeat: int
    nautilus_n: int
    nautilus_install: bool
    mixed_n: int
    scaling: list[int]
    quotes_n: int
    live_n: int
    resting: str
    api_n: int
    api_rate: float

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Sizes:
        quick = env.get("QUICK", "") not in ("", "0")

        def number(name: str, default: int, small: int) -> int:
            return int(env.get(name, small if quick else default))

        install_default = "0" if quick else "1"
        return cls(
            quick=quick,
            repeat=number("REPEAT", 3, 1),
            nautilus_n=number("NAUTILUS_N", 50_000, 2_000),
            nautilus_install=env.get("NAUTILUS_INSTALL", install_default) not in ("", "0"),
            mixed_n=number("MIXED_N", 100_000, 2_000),
            scaling=[int(s) for s in env.get(
                "SCALING_SIZES", "1000 2000" if quick else "10000 100000 1000000").split()],
            quotes_n=number("QUOTES_N", 1_000_000, 20_000),
            live_n=number("LIVE_N", 5_000, 300),
            resting=env.get("RESTING", "10,100,1000" if quick else "10,100,1000,10000"),
            api_n=number("API_N", 5_000, 300),
            api_rate=float(env.get("API_RATE", 200)),
        )


def resting_orders(sizes: Sizes) -> dict[str, Any]:
    """`ordergate.bench.resting` (the simulated venue's book), run as its own process, its
    JSON taken as it is (beside `"available": true`)."""
    run = run_process([sys.executable, "-m", RESTING_MODULE, "--resting", sizes.resting],
                      check=False)
    if run.returncode != 0:
        return {"available": False,
                "why": f"{RESTING_MODULE} exited {run.returncode}: {run.stderr[-1000:]}"}
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return {"available": True, **result}


def allocation(sizes: Sizes) -> dict[str, Any]:
    """`ordergate.bench.allocation` (one block judged and split over N accounts, venue
    calls excluded), in a process of its own, its JSON as it is."""
    accounts = "10,100" if sizes.quick else "10,100,1000"
    run = run_process([sys.executable, "-m", "ordergate.bench.allocation", "--accounts",
                       accounts, "--repeat", "50" if sizes.quick else "200"])
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def _durable_and_not(module: str, args: list[str], kept: tuple[str, ...]) -> dict[str, Any]:
    """`module`'s JSON durable as live, with the `kept` keys of a second run without the
    fsyncs before each send (`--no-fsync`) beside it: the disk's share apart from ours.
    Each run in a child of its own (signal handlers, loguru sinks, a server's thread and
    its heap die with it)."""
    def once(*flags: str) -> dict[str, Any]:
        run = run_process([sys.executable, "-m", module, *args, *flags])
        result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
        return result

    result = once()
    unsynced = once("--no-fsync")
    result["without_fsync"] = {key: unsynced[key] for key in (*kept, "durable")}
    return result


def live_path(sizes: Sizes) -> dict[str, Any]:
    """On the simulated venue, and through ccxt to the Binance emulator (issue 12 asks for
    the latter), each durable and without the fsyncs."""
    kept = ("to_engine_submit_us", "to_venue_request_us", "to_decision_end_us",
            "fsync_before_send_us", "to_venue_request_less_fsync_us")
    result = _durable_and_not("ordergate.bench.live_path", ["--signals", str(sizes.live_n)],
                              kept)
    result["binance_emulator"] = _durable_and_not(
        "ordergate.bench.live_path",
        ["--signals", str(max(100, sizes.live_n // 2)), "--venue", "binance"],
        (*kept, "to_adapter_us", "to_venue_request_excluding_network_us"))
    return result


def api_load(sizes: Sizes) -> dict[str, Any]:
    """`ordergate serve` under HTTP load."""
    return _durable_and_not(
        "ordergate.bench.api_load",
        ["--n", str(sizes.api_n), "--paced-n", str(max(100, sizes.api_n // 2)),
         "--rate", str(sizes.api_rate)],
        ("throughput", "throughput_fsyncs", "paced", "every_client_id_once"))


def build(sizes: Sizes, work: Path, repo: Path, only: list[str]) -> dict[str, Any]:
    compiled = compile_bytecode(Path(__file__).resolve().parent.parent)
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "nautilus_side_by_side": lambda: side_by_side(work, repo, sizes.nautilus_n,
                                                      sizes.repeat, sizes.nautilus_install),
        "mixed_workload": lambda: mixed_workload(work, sizes.mixed_n, sizes.repeat),
        "scaling": lambda: scaling(work, sizes.scaling),
        "resting_orders": lambda: resting_orders(sizes),
        "quote_loading": lambda: quote_loading(work, sizes.quotes_n, sizes.repeat),
        "live_path": lambda: live_path(sizes),
        "api_load": lambda: api_load(sizes),
        "allocation": lambda: allocation(sizes),
    }
    report: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
        "peak_rss_source": PEAK_RSS_SOURCE,
        "bytecode": ("ordergate's modules compiled before measuring, as an install leaves "
                     "them" if compiled else "not all of ordergate's modules would compile"),
        "quick": sizes.quick,
        "repeat": sizes.repeat,
    }
    for name in only:
        began = time.perf_counter()
        try:
            section = runners[name]()
        except Exception as exc:  # noqa: BLE001 - one broken section must not hide the rest
            section = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
        section["bench_seconds"] = round(time.perf_counter() - began, 1)
        report[name] = section
        print(f"bench: {name} done in {section['bench_seconds']} s", file=sys.stderr, flush=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    parser.add_argument("--sections", default=os.environ.get("BENCH_SECTIONS", ",".join(SECTIONS)),
                        help=f"comma-separated, from {', '.join(SECTIONS)}")
    parser.add_argument("--repo", type=Path, default=Path.cwd(),
                        help="where .bench/ (the Nautilus venv) lives; default: here")
    args = parser.parse_args()
    only = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {', '.join(SECTIONS)}")
    sizes = Sizes.from_env(dict(os.environ))
    with tempfile.TemporaryDirectory(prefix="ordergate-bench-") as tmp:
        report = build(sizes, Path(tmp), args.repo.resolve(), only)
    text = json.dumps(report, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
