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

`--venue binance` measures the same path through ccxt's real `binance` class to the
project's Binance emulator (in a thread of this process, on 127.0.0.1), as issue 12 asks:
`to_venue_request_us` is then the instant aiohttp has written the order request's headers
to the socket (an aiohttp trace on ccxt's session: ccxt's request building and signing
included, the network and the emulator not), and `to_adapter_us` the adapter's
`place_order` being called (ordergate's own part, as on the simulated venue). The venue's
request budget is out of the way (ours raised, ccxt's throttle off): a wait for it is not
the path's cost.

    python -m ordergate.bench.live_path --signals 5000                  # JSON out
    python -m ordergate.bench.live_path --signals 2000 --venue binance
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from loguru import logger

from ordergate import live
from ordergate.config import EngineConfig, load_config
from ordergate.domain.signal import TradingSignalGenerated
from ordergate.engine import Engine
from ordergate.event_loop import run_live_loop
from ordergate.pipeline.chain import Outcome
from ordergate.testing.binance_emulator import (
    DEFAULT_API_KEY, DEFAULT_API_SECRET, BinanceEmulatorThread,
)
from ordergate.venues.base import OrderReport, OrderRequest
from ordergate.venues.guarded import unwrap
from ordergate.bench.processes import percentiles
from ordergate.bench.workloads import market_hold_quotes, market_hold_signal

LIVE_CONFIG = """\
[validator]
max_signal_age_s = 60

[journal]
path = "{root}/journal.sqlite"
durable = {durable}

[audit]
path = "{root}/audit.jsonl"
"""
SIM_VENUE = """
[venues.sim]
kind = "simulated"
market_data = "{root}/quotes.csv"
balances = {{ main = {{ USDT = "1000000000" }} }}
slippage_bps = "0"
instruments = [
  {{ symbol = "BTC/USDT", tick_size = "0.01", lot_size = "0.00001", min_notional = "5" }},
]
"""
BINANCE_VENUE = """
[venues.binance]
kind = "ccxt"
exchange = "binance"
market_type = "spot"
api_url = "{base_url}"
api_key_env = "OG_BENCH_BINANCE_KEY"
secret_env = "OG_BENCH_BINANCE_SECRET"
account_id = "main"
reference_max_age_s = {reference_max_age_s}

[venues.binance.rate_limit]
rate_per_s = 100000.0
burst = 100000
"""
EMULATOR_MID = 5_000_000
"""The emulator's book is about 49,999 / 50,001 (in cents)."""


class _Probe:
    """The instants the engine reports, handed to the writer thread."""

    def __init__(self) -> None:
        self.taken_ns: int | None = None
        self.sent_ns: int | None = None
        self.wire_ns: int | None = None
        self.awaited_ns = 0
        self.fsync_ns = 0
        self.done_ns: int | None = None
        self.decided = threading.Event()

    def fsynced(self, seconds: float) -> None:
        """The journal made commits durable: the disk's part of the path, when it comes
        between the signal's arrival and its order's send (the barrier before the send)."""
        if self.taken_ns is not None and self.sent_ns is None:
            self.fsync_ns += int(seconds * 1e9)


def _timed_engine(probe: _Probe) -> type[Engine]:
    class TimedEngine(Engine):
        """The engine `run_live` builds, with the two instants noted (module docstring)."""

        def __init__(self, config: EngineConfig, *args: Any, **kwargs: Any) -> None:
            super().__init__(config, *args, **kwargs)
            metrics = self.journal.on_fsync

            def fsynced(seconds: float) -> None:
                probe.fsynced(seconds)
                if metrics is not None:
                    metrics(seconds)
            self.journal.on_fsync = fsynced
            for venue in self.venues.values():
                inner = unwrap(venue)
                setattr(inner, "place_order", _noting(inner.place_order, probe))

        async def start(self) -> None:
            for venue in self.venues.values():
                exchange = getattr(unwrap(venue), "_exchange", None)
                if exchange is not None:  # ccxt: the wire instant, and no throttle wait
                    exchange.session = aiohttp.ClientSession(trace_configs=[_wire_trace(probe)])
                    exchange.enableRateLimit = False
            await super().start()

        async def submit(self, signal: TradingSignalGenerated) -> Outcome:
            probe.taken_ns = time.perf_counter_ns()
            outcome = await super().submit(signal)
            probe.done_ns = time.perf_counter_ns()
            probe.decided.set()
            return outcome

    return TimedEngine


def _wire_trace(probe: _Probe) -> aiohttp.TraceConfig:
    """ccxt's session (set before its first request, so ccxt uses and closes it) notes
    when an order request's headers have been written to the socket, and how long the
    decision waited for requests before it (the ticker for the reference price: the
    network and the emulator, from the request's start to its response's headers)."""
    async def started(session: aiohttp.ClientSession, context: Any,
                      params: aiohttp.TraceRequestStartParams) -> None:
        context.began = time.perf_counter_ns()

    async def headers_sent(session: aiohttp.ClientSession, context: Any,
                           params: aiohttp.TraceRequestHeadersSentParams) -> None:
        if params.method == "POST" and params.url.path.endswith("/api/v3/order"):
            probe.wire_ns = time.perf_counter_ns()

    async def ended(session: aiohttp.ClientSession, context: Any,
                    params: aiohttp.TraceRequestEndParams) -> None:
        if probe.wire_ns is None and probe.taken_ns is not None:  # a request before the send
            probe.awaited_ns += time.perf_counter_ns() - context.began

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(started)
    trace.on_request_headers_sent.append(headers_sent)
    trace.on_request_end.append(ended)
    trace.freeze()
    return trace


def _noting(place: Callable[[OrderRequest], Awaitable[OrderReport]],
            probe: _Probe) -> Callable[[OrderRequest], Awaitable[OrderReport]]:
    async def place_order(request: OrderRequest) -> OrderReport:
        probe.sent_ns = time.perf_counter_ns()
        return await place(request)

    return place_order


Record = tuple[int, int | None, int | None, int | None, int | None, int, int]
"""(written, taken, adapter called, on the wire, done; ns awaiting requests before the
send, ns in fsyncs before the send), perf_counter_ns."""


def _writer(fifo: Path, n: int, mid_at: Callable[[datetime], int], venue: str,
            probe: _Probe, records: list[Record]) -> None:
    """Write a signal, wait for its decision to end, note the instants; n times."""
    handle = os.open(fifo, os.O_WRONLY)  # blocks until run_live opens it for reading
    try:
        for i in range(n):
            now = datetime.now(UTC)
            line = (market_hold_signal(i, mid_at(now), now, prefix="live", venue=venue)
                    + "\n").encode()
            probe.taken_ns = probe.sent_ns = probe.wire_ns = probe.done_ns = None
            probe.awaited_ns = probe.fsync_ns = 0
            probe.decided.clear()
            began = time.perf_counter_ns()
            os.write(handle, line)
            if not probe.decided.wait(timeout=30):
                break
            records.append((began, probe.taken_ns, probe.sent_ns, probe.wire_ns,
                            probe.done_ns, probe.awaited_ns, probe.fsync_ns))
    finally:
        os.close(handle)  # end of input: run_live shuts down


def measure(n: int, durable: bool = True, venue: str = "sim",
            reference_max_age_s: float = 0.0) -> dict[str, Any]:
    """`durable`: the journal commits and fsyncs each order, the decision's audit lines in
    the same commit, before the request leaves (the live default); False shows the
    engine's own cost, the disk's fsync left out (the journal then commits in batches). `venue`: "sim" or
    "binance" (the module's docstring), whose `reference_max_age_s` is given."""
    logger.remove()  # as `ordergate run`: audit lines to their file, warnings to stderr
    logger.add(sys.stderr, level="WARNING", diagnose=False,
               filter=lambda record: "ordergate_audit" not in record["extra"])
    emulator = BinanceEmulatorThread() if venue == "binance" else None
    with tempfile.TemporaryDirectory(prefix="ordergate-live-") as tmp, \
            emulator if emulator is not None else contextlib.nullcontext():
        root = Path(tmp)
        text = LIVE_CONFIG.format(root=root, durable=str(durable).lower())
        if emulator is None:
            start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=60)
            with open(root / "quotes.csv", "w", encoding="utf-8") as handle:
                mids = market_hold_quotes(handle, 60 + 3600, seed=5, start=start)

            def mid_at(now: datetime) -> int:
                return mids[min(int((now - start).total_seconds()), len(mids) - 1)]
            text += SIM_VENUE.format(root=root)
        else:
            os.environ["OG_BENCH_BINANCE_KEY"] = DEFAULT_API_KEY
            os.environ["OG_BENCH_BINANCE_SECRET"] = DEFAULT_API_SECRET

            def mid_at(now: datetime) -> int:
                return EMULATOR_MID
            text += BINANCE_VENUE.format(base_url=emulator.base_url,
                                         reference_max_age_s=reference_max_age_s)
        (root / "config.toml").write_text(text, encoding="utf-8")
        config = load_config(root / "config.toml")
        fifo = root / "signals.fifo"
        os.mkfifo(fifo)
        probe = _Probe()
        records: list[Record] = []
        writer = threading.Thread(target=_writer, args=(fifo, n, mid_at, venue, probe, records),
                                  daemon=True)
        setattr(live, "Engine", _timed_engine(probe))
        writer.start()
        engine = run_live_loop(live.run_live(config, fifo))  # the loop `ordergate run` has
        writer.join(timeout=60)

    def since_written(index: int) -> list[float]:
        return [(at - r[0]) / 1000 for r in records if (at := r[index]) is not None]

    summary = engine.summary.counts
    result = {
        "venue": venue,
        "signals": len(records),
        "orders_submitted": summary.get("orders_submitted", 0),
        "orders_filled": summary.get("orders_filled", 0),
        "signals_rejected": summary.get("signals_rejected", 0),
        "to_engine_submit_us": percentiles(since_written(1)),
        "to_venue_request_us": percentiles(since_written(3 if emulator else 2)),
        "to_decision_end_us": percentiles(since_written(4)),
        "durable": durable,
        "reference_max_age_s": reference_max_age_s if emulator else None,
        "measured": (
            "`ordergate run`'s path (live.run_live: reader thread, decision lock, ticker, "
            "its event loop) on the wall clock, the durable journal; one signal at a time "
            "written into the FIFO run_live reads. to_engine_submit_us: from os.write of the "
            "line to Engine.submit being called (reader thread, queue, parse); "
            "to_decision_end_us: to Engine.submit returning (report applied, audit lines "
            "written). " + (
                "Venue: ccxt's binance class against the project's Binance emulator on "
                "127.0.0.1; to_venue_request_us: to aiohttp having written the order "
                "request's headers (ccxt's building and signing included, the network not); "
                "to_adapter_us: to the ccxt adapter's place_order being called; "
                "awaiting_venue_before_send_us: the decision's requests before the send (the "
                "ticker for the reference price), start to response headers; "
                "to_venue_request_excluding_network_us: to_venue_request_us less that. "
                if emulator else
                "Venue: the in-process simulated one (no network); to_venue_request_us: to "
                "its place_order being called. ") + (
                "fsync_before_send_us: the journal's fsyncs in the barrier before the send "
                "(the disk's part; 0 with --no-fsync); "
                "to_venue_request_less_fsync_us: to the request, less the network (binance) "
                "and less those fsyncs: the engine's own part.")),
    }
    if emulator is not None:
        result["to_adapter_us"] = percentiles(since_written(2))
        result["to_venue_request_excluding_network_us"] = percentiles(
            [(r[3] - r[0] - r[5]) / 1000 for r in records if r[3] is not None])
        result["awaiting_venue_before_send_us"] = percentiles(
            [r[5] / 1000 for r in records if r[3] is not None])
    sent = 3 if emulator else 2
    result["fsync_before_send_us"] = percentiles(
        [r[6] / 1000 for r in records if r[sent] is not None])
    result["to_venue_request_less_fsync_us"] = percentiles(
        [(at - r[0] - r[5] - r[6]) / 1000 for r in records if (at := r[sent]) is not None])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--signals", type=int, default=5000)
    parser.add_argument("--no-fsync", action="store_true",
                        help="journal.durable = false: no commit or fsync before each send")
    parser.add_argument("--venue", choices=("sim", "binance"), default="sim")
    parser.add_argument("--reference-max-age", type=float, default=0.0, metavar="S",
                        help="binance: the venue's reference_max_age_s (0: a ticker a signal)")
    args = parser.parse_args()
    print(json.dumps(measure(args.signals, durable=not args.no_fsync, venue=args.venue,
                             reference_max_age_s=args.reference_max_age)))


if __name__ == "__main__":
    main()
