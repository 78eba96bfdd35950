"""The live path's latency: from a signal line arriving to the order leaving for the
venue, through `ordergate run`'s own code (`live.run_live`: its reader thread, the
one-decision-at-a-time lock, the ticker beside it) on the wall clock, with the durable
journal (a commit before every send) and the audit log written per decision, as live.

The venue is the in-process simulated one on quotes around the current time, so the
network is excluded by construction. Signals are written one at a time into a FIFO that
`run_live` reads as its signals file; the next is written only once the previous
decision has ended, so each figure is one signal's own path, not a queue's.

Three instants per signal, all from the moment its line is written (`os.write`):
- `to_engine_submit`: `Engine.submit` is called (read by the reader thread, handed over
  through its queue, parsed);
- `to_venue_request`: the simulated venue's `place_order` is called (validator, risk,
  journal commit and audit sync done; the request is leaving);
- `to_decision_end`: `Engine.submit` has returned (the venue's report applied, the
  decision's audit lines written).
They are taken by an `Engine` subclass that `run_live` is given in place of its own (the
one hook there is: `run_live` builds its engine itself); nothing else is changed.

    python -m ordergate.bench.live_path --signals 5000      # JSON out
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from loguru import logger

from ordergate import live
from ordergate.config import EngineConfig, load_config
from ordergate.domain.signal import TradingSignalGenerated
from ordergate.engine import Engine
from ordergate.pipeline.chain import Outcome
from ordergate.venues.base import OrderReport, OrderRequest
from ordergate.venues.guarded import unwrap
from ordergate.bench.workloads import market_hold_quotes, market_hold_signal

LIVE_CONFIG = """\
[validator]
max_signal_age_s = 60

[journal]
path = "{root}/journal.sqlite"
durable = {durable}

[audit]
path = "{root}/audit.jsonl"

[venues.sim]
kind = "simulated"
market_data = "{root}/quotes.csv"
balances = {{ main = {{ USDT = "1000000000" }} }}
slippage_bps = "0"
instruments = [
  {{ symbol = "BTC/USDT", tick_size = "0.01", lot_size = "0.00001", min_notional = "5" }},
]
"""


class _Probe:
    """The instants the engine reports, handed to the writer thread."""

    def __init__(self) -> None:
        self.taken_ns: int | None = None
        self.sent_ns: int | None = None
        self.done_ns: int | None = None
        self.decided = threading.Event()


def _timed_engine(probe: _Probe) -> type[Engine]:
    class TimedEngine(Engine):
        """The engine `run_live` builds, with the two instants noted (module docstring)."""

        def __init__(self, config: EngineConfig, *args: Any, **kwargs: Any) -> None:
            super().__init__(config, *args, **kwargs)
            for venue in self.venues.values():
                inner = unwrap(venue)
                setattr(inner, "place_order", _noting(inner.place_order, probe))

        async def submit(self, signal: TradingSignalGenerated) -> Outcome:
            probe.taken_ns = time.perf_counter_ns()
            outcome = await super().submit(signal)
            probe.done_ns = time.perf_counter_ns()
            probe.decided.set()
            return outcome

    return TimedEngine


def _noting(place: Callable[[OrderRequest], Awaitable[OrderReport]],
            probe: _Probe) -> Callable[[OrderRequest], Awaitable[OrderReport]]:
    async def place_order(request: OrderRequest) -> OrderReport:
        probe.sent_ns = time.perf_counter_ns()
        return await place(request)

    return place_order


def _writer(fifo: Path, n: int, mids: list[int], start: datetime, probe: _Probe,
            records: list[tuple[int, int | None, int | None, int | None]]) -> None:
    """Write a signal, wait for its decision to end, note the instants; n times."""
    handle = os.open(fifo, os.O_WRONLY)  # blocks until run_live opens it for reading
    try:
        for i in range(n):
            now = datetime.now(UTC)
            mid = mids[min(int((now - start).total_seconds()), len(mids) - 1)]
            line = (market_hold_signal(i, mid, now, prefix="live") + "\n").encode()
            probe.taken_ns = probe.sent_ns = probe.done_ns = None
            probe.decided.clear()
            began = time.perf_counter_ns()
            os.write(handle, line)
            if not probe.decided.wait(timeout=30):
                break
            records.append((began, probe.taken_ns, probe.sent_ns, probe.done_ns))
    finally:
        os.close(handle)  # end of input: run_live shuts down


def _percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"p50": round(values[0], 1) if values else float("nan"), "p99": float("nan")}
    cuts = statistics.quantiles(values, n=100)
    return {"p50": round(cuts[49], 1), "p99": round(cuts[98], 1), "max": round(max(values), 1)}


def measure(n: int, durable: bool = True) -> dict[str, Any]:
    """`durable`: the journal commits and fsyncs each order, and the audit log its lines,
    before the request leaves (the live default); False shows the engine's own cost, the
    disk's two fsyncs left out (the journal then commits in batches)."""
    logger.remove()  # as `ordergate run`: audit lines to their file, warnings to stderr
    logger.add(sys.stderr, level="WARNING", diagnose=False,
               filter=lambda record: "ordergate_audit" not in record["extra"])
    with tempfile.TemporaryDirectory(prefix="ordergate-live-") as tmp:
        root = Path(tmp)
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=60)
        with open(root / "quotes.csv", "w", encoding="utf-8") as handle:
            mids = market_hold_quotes(handle, 60 + 3600, seed=5, start=start)
        (root / "config.toml").write_text(LIVE_CONFIG.format(root=root, durable=str(durable).lower()), encoding="utf-8")
        config = load_config(root / "config.toml")
        fifo = root / "signals.fifo"
        os.mkfifo(fifo)
        probe = _Probe()
        records: list[tuple[int, int | None, int | None, int | None]] = []
        writer = threading.Thread(target=_writer, args=(fifo, n, mids, start, probe, records),
                                  daemon=True)
        setattr(live, "Engine", _timed_engine(probe))
        writer.start()
        engine = asyncio.run(live.run_live(config, fifo))
        writer.join(timeout=60)
    taken = [(t - b) / 1000 for b, t, _, _ in records if t is not None]
    sent = [(s - b) / 1000 for b, _, s, _ in records if s is not None]
    done = [(d - b) / 1000 for b, _, _, d in records if d is not None]
    summary = engine.summary.counts
    return {
        "signals": len(records),
        "orders_submitted": summary.get("orders_submitted", 0),
        "signals_rejected": summary.get("signals_rejected", 0),
        "to_engine_submit_us": _percentiles(taken),
        "to_venue_request_us": _percentiles(sent),
        "to_decision_end_us": _percentiles(done),
        "durable": durable,
        "measured": (
            "`ordergate run`'s path (live.run_live: reader thread, decision lock, ticker) on "
            "the wall clock with the in-process simulated venue (no network) and the durable "
            "journal; one signal at a time written into the FIFO run_live reads. "
            "to_engine_submit_us: from os.write of the line to Engine.submit being called "
            "(reader thread, queue, parse); "
            "to_venue_request_us: from os.write of the line to the simulated venue's "
            "place_order being called; to_decision_end_us: to Engine.submit returning "
            "(report applied, audit lines written). Not the Binance emulator."),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--signals", type=int, default=5000)
    parser.add_argument("--no-fsync", action="store_true",
                        help="journal.durable = false: no commit or fsync before each send")
    args = parser.parse_args()
    print(json.dumps(measure(args.signals, durable=not args.no_fsync)))


if __name__ == "__main__":
    main()
