"""Quote loading: how long `MarketData` takes to read a million quotes, CSV and (when
there is a loader for it and pyarrow to write it) Parquet.

Each load runs in a fresh process (`python -m ordergate.bench.quotes --path FILE`) that
times the load call alone (not the interpreter's start or ordergate's import) and
reports its peak RSS, since the quotes a replay holds are a large part of its memory.
`MarketData.load` (dispatching on the suffix) is used when it exists, else `from_csv`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from ordergate.bench.processes import median, run_process
from ordergate.bench.workloads import market_hold_quotes
from ordergate.venues.market_data import MarketData


def loader_name() -> str:
    return "load" if hasattr(MarketData, "load") else "from_csv"


def _load_once(path: Path) -> dict[str, Any]:
    """In the child: one load, timed."""
    load = getattr(MarketData, loader_name())
    began = time.perf_counter()
    market = load(path)
    seconds = time.perf_counter() - began
    count = sum(len(market.series(symbol)) for symbol in market.symbols)
    return {"seconds": seconds, "quotes": count,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _timed(path: Path, repeat: int) -> dict[str, Any]:
    runs = [json.loads(run_process([sys.executable, "-m", "ordergate.bench.quotes",
                                    "--path", str(path)]).stdout) for _ in range(repeat)]
    seconds = median([r["seconds"] for r in runs])
    return {"seconds_median": seconds, "seconds": [round(r["seconds"], 3) for r in runs],
            "quotes": runs[0]["quotes"], "quotes_per_second": round(runs[0]["quotes"] / seconds),
            "peak_rss_mb_median": median([r["peak_rss_mb"] for r in runs], 1),
            "file_mb": round(path.stat().st_size / 1e6, 1)}


def quote_loading(work: Path, n: int, repeat: int) -> dict[str, Any]:
    directory = work / "quotes"
    directory.mkdir(parents=True, exist_ok=True)
    csv_path = directory / "quotes.csv"
    with open(csv_path, "w", encoding="utf-8") as handle:
        market_hold_quotes(handle, n, seed=3)
    section: dict[str, Any] = {"quotes": n, "loader": f"MarketData.{loader_name()}",
                               "repeat": repeat, "csv": _timed(csv_path, repeat)}
    if loader_name() != "load":
        section["parquet"] = {"available": False, "why": "MarketData has no load() (CSV only)"}
    elif importlib.util.find_spec("pyarrow") is None:
        section["parquet"] = {"available": False, "why": "pyarrow is not installed"}
    else:
        parquet_path = directory / "quotes.parquet"
        _write_parquet(csv_path, parquet_path)
        try:
            section["parquet"] = _timed(parquet_path, repeat)
        except Exception as exc:  # noqa: BLE001 - the loader's failure is the finding
            section["parquet"] = {"available": False, "why": f"load failed: {exc}"[:500]}
    return section


def _write_parquet(csv_path: Path, parquet_path: Path) -> None:
    """Ticks as quants store them: timestamps as timestamps, prices and sizes as numbers."""
    from pyarrow import csv as pacsv  # type: ignore[import-not-found, unused-ignore]
    from pyarrow import parquet  # type: ignore[import-not-found, unused-ignore]

    parquet.write_table(pacsv.read_csv(csv_path), parquet_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--path", type=Path, required=True)
    print(json.dumps(_load_once(parser.parse_args().path)))


if __name__ == "__main__":
    main()
