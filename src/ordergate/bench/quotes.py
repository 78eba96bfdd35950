"""Quote loading: how long `MarketData.load` takes to read a million quotes, from CSV and
from Parquet, streamed (the default for a file in time order) and loaded whole.

Each load runs in a fresh process (`python -m ordergate.bench.quotes --path FILE
[--whole]`) that times the load call alone (not the interpreter's start or ordergate's
import), then the reading through to the last quote (`read_seconds`: for a stream, its
second pass over the file, which a replay spreads over its run; loaded whole, nothing
more to read), and reports its peak RSS, since the quotes a replay holds are a large part
of its memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from ordergate.bench.processes import median, run_process
from ordergate.bench.workloads import market_hold_quotes
from ordergate.venues.market_data import MarketData


def _load_once(path: Path, whole: bool) -> dict[str, Any]:
    """In the child: one load, timed, then the reading through to the last quote."""
    began = time.perf_counter()
    market = MarketData.load(path, stream=not whole)
    seconds = time.perf_counter() - began
    count = sum(len(market.series(symbol)) for symbol in market.symbols)
    last = market.last_ts()
    began = time.perf_counter()
    for symbol in market.symbols:
        if last is not None:
            market.quote_at(symbol, last)
    return {"seconds": seconds, "quotes": count, "read_seconds": time.perf_counter() - began,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _timed(path: Path, repeat: int, whole: bool = False) -> dict[str, Any]:
    command = [sys.executable, "-m", "ordergate.bench.quotes", "--path", str(path)]
    runs = [json.loads(run_process(command + (["--whole"] if whole else [])).stdout)
            for _ in range(repeat)]
    seconds = median([r["seconds"] for r in runs])
    return {"seconds_median": seconds, "seconds": [round(r["seconds"], 3) for r in runs],
            "read_seconds_median": median([r["read_seconds"] for r in runs]),
            "quotes": runs[0]["quotes"], "quotes_per_second": round(runs[0]["quotes"] / seconds),
            "peak_rss_mb_median": median([r["peak_rss_mb"] for r in runs], 1),
            "file_mb": round(path.stat().st_size / 1e6, 1)}


def quote_loading(work: Path, n: int, repeat: int) -> dict[str, Any]:
    directory = work / "quotes"
    directory.mkdir(parents=True, exist_ok=True)
    csv_path = directory / "quotes.csv"
    with open(csv_path, "w", encoding="utf-8") as handle:
        market_hold_quotes(handle, n, seed=3)
    parquet_path = directory / "quotes.parquet"
    _write_parquet(csv_path, parquet_path)
    return {"quotes": n, "loader": "MarketData.load", "repeat": repeat,
            "csv": _timed(csv_path, repeat), "parquet": _timed(parquet_path, repeat),
            "csv_whole": _timed(csv_path, repeat, whole=True),
            "parquet_whole": _timed(parquet_path, repeat, whole=True)}


def _write_parquet(csv_path: Path, parquet_path: Path) -> None:
    """Ticks as quants store them: timestamps as timestamps, prices and sizes as decimals
    (never floats, which the loader refuses)."""
    import pyarrow as pa
    from pyarrow import csv as pacsv
    from pyarrow import parquet

    amount = pa.decimal128(18, 8)
    types = {"ts": pa.timestamp("us", tz="UTC"), "symbol": pa.string(), "bid": amount,
             "ask": amount, "bid_size": amount, "ask_size": amount}
    table = pacsv.read_csv(csv_path, convert_options=pacsv.ConvertOptions(column_types=types))
    parquet.write_table(table, parquet_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--path", type=Path, required=True)
    parser.add_argument("--whole", action="store_true", help="load the file whole, not streamed")
    args = parser.parse_args()
    print(json.dumps(_load_once(args.path, args.whole)))


if __name__ == "__main__":
    main()
