"""`replay`: drive the engine on the simulated clock over a signals file and a quotes file.

Each signal moves the clock to its `ts`, except one beyond the last quote by more than
`validator.max_clock_skew_s`: there is no market to trade it against, and following it
(a `ts` in year 9999) would strand every later signal as stale. The clock stays put and
the validator judges the signal against it, as live: FUTURE_SIGNAL when it is more than
the tolerance ahead.

Outputs in the run directory, all byte-for-byte repeatable for the same inputs:
`audit.jsonl`, `fills.csv` and `summary.json`; wall-clock timings go to `timings.json`
and where the inputs were to `manifest.json`, kept apart because they are not (the report
reads the quotes again from there for its marks, rather than the replay sampling them). A
malformed line is counted, audited with its line number and reason, and the replay goes
on.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ordergate.clock import SimulatedClock
from ordergate.config import AuditSettings, EngineConfig
from ordergate.domain.signal import MAX_SIGNAL_LINE_BYTES, SignalParseError, parse_signal_json
from ordergate.engine import Engine
from ordergate.gc_policy import freeze_start_up
from ordergate.replay.csv_rows import write_csv_rows
from ordergate.venues.market_data import MarketData

# A fee means nothing without its currency (a Binance buy pays in the base, a sell in the quote).
FILL_COLUMNS = ("ts", "client_order_id", "trade_id", "symbol", "side", "price", "quantity", "fee",
                "fee_currency", "account_id")
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class ReplayResult:
    summary: dict[str, Any]
    out_dir: Path
    wall_seconds: float
    signal_latencies_us: list[float]


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines and their numbers, as bytes: a byte that is not UTF-8 is the
    parser's to refuse (that line, audited), not to be replaced by U+FFFD and read on.
    At most `MAX_SIGNAL_LINE_BYTES` + 1 bytes of a line are held: the rest of a longer one
    is skipped, and the parser refuses the line for its length."""
    with open(path, "rb") as handle:
        number = 0
        while line := handle.readline(MAX_SIGNAL_LINE_BYTES + 1):
            number += 1
            if len(line) > MAX_SIGNAL_LINE_BYTES and not line.endswith(b"\n"):
                while (rest := handle.readline(MAX_SIGNAL_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass  # the rest of an overlong line: nothing in it is read
            if line.strip():
                yield number, line


async def replay(signals: Path, market_path: Path, config: EngineConfig, out_dir: Path, *,
                 progress: Progress | None = None, measure_latency: bool = False) -> ReplayResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm", "audit.jsonl"):
        (out_dir / stale).unlink(missing_ok=True)
    market = MarketData.load(market_path)
    start = market.first_ts() or datetime(1970, 1, 1, tzinfo=UTC)
    clock = SimulatedClock(start)
    horizon = (market.last_ts() or start) + timedelta(seconds=config.validator.max_clock_skew_s)
    config = config.model_copy(update={"audit": AuditSettings(
        path=out_dir / "audit.jsonl", rotation=None, retention=None)})
    engine = Engine(config, clock, market=market, journal_path=out_dir / "journal.sqlite",
                    durable=False, deferred_indexes=True)
    latencies: list[float] = []
    began = time.perf_counter()
    try:
        await engine.start()
        freeze_start_up()
        count = 0
        for number, line in read_lines(signals):
            count += 1
            if progress is not None and count % 1000 == 0:
                progress(count)
            t0 = time.perf_counter_ns() if measure_latency else 0
            try:
                signal = parse_signal_json(line)
            except SignalParseError as error:
                engine.reject_invalid(error, number)
                continue
            if signal.ts <= horizon:  # else FUTURE_SIGNAL, and the clock stays where it is
                clock.advance_to(signal.ts)
            await engine.tick()
            await engine.submit(signal)
            if measure_latency:
                latencies.append((time.perf_counter_ns() - t0) / 1000)
        await _settle(engine, clock, market)
        summary = _summarise(engine)
        _write_fills(engine, out_dir / "fills.csv")
    finally:
        await engine.close()
    wall = time.perf_counter() - began
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    _write_manifest(out_dir / "manifest.json", signals, market_path)
    (out_dir / "timings.json").write_text(json.dumps(
        {"wall_seconds": round(wall, 3), "signals": summary["signals_total"],
         "signals_per_second": round(summary["signals_total"] / wall, 1) if wall else None},
        indent=2) + "\n")
    return ReplayResult(summary, out_dir, wall, latencies)


async def _settle(engine: Engine, clock: SimulatedClock, market: MarketData) -> None:
    """After the last signal, let time run on so working orders meet the remaining quotes
    and the reconciler's timeouts fire, as they would have live; held (emulated) stops
    are checked against those quotes the same way, tick by tick."""
    last = market.last_ts() or clock.now()
    settings = engine.config.reconciler
    deadline = max(last, clock.now() + timedelta(seconds=settings.fill_timeout_s + 2 * settings.poll_interval_s))
    while (engine.reconciler.followed_count or engine.stops.armed_count) and clock.now() < deadline:
        clock.advance(settings.poll_interval_s)
        await engine.tick()
    clock.advance_to(last)
    await engine.tick()


def _summarise(engine: Engine) -> dict[str, Any]:
    per_client = engine.venue_orders_per_client_id()
    duplicates = sum(1 for n in per_client.values() if n > 1)
    summary = engine.summary.as_dict(engine.positions, duplicates)
    summary["orders_working"] = len(engine.ledger.live_orders())
    return summary


def _write_manifest(path: Path, signals: Path, market_path: Path) -> None:
    """The inputs' absolute paths, and the quotes' size to tell a file changed since."""
    market = market_path.resolve()
    path.write_text(json.dumps({"signals": str(signals.resolve()), "market": str(market),
                                "market_bytes": market.stat().st_size}, indent=2) + "\n")


def _write_fills(engine: Engine, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerow(FILL_COLUMNS)
        write_csv_rows(handle, engine.journal.iter_fills(FILL_COLUMNS), len(FILL_COLUMNS))
