"""The replay benchmark: signals per second through the whole pipeline (journal and
audit log on), per-signal latency percentiles and peak memory, as JSON.

`scripts/bench` runs this once per size in a fresh process, so each peak-memory figure
belongs to its own run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import tempfile
from pathlib import Path

from loguru import logger

from ordergate.config import EngineConfig
from ordergate.replay.harness import replay
from ordergate.replay.synthetic import DEMO_SYMBOLS, bench_signals, make_quotes, quotes_csv


def run(n: int, seed: int = 1) -> dict[str, object]:
    logger.remove()
    with tempfile.TemporaryDirectory(prefix="ordergate-bench-") as tmp:
        root = Path(tmp)
        quote_count = n // 10 + 100  # signals are 100 ms apart, quotes 1 s
        (root / "quotes.csv").write_text(quotes_csv(make_quotes(DEMO_SYMBOLS, quote_count, seed)))
        (root / "signals.jsonl").write_text("\n".join(bench_signals(DEMO_SYMBOLS, n, seed)) + "\n")
        result = asyncio.run(replay(root / "signals.jsonl", root / "quotes.csv", EngineConfig(),
                                    root / "out", measure_latency=True))
        audit_lines = sum(1 for _ in open(root / "out" / "audit.jsonl", encoding="utf-8"))
    latencies = sorted(result.signal_latencies_us)
    q = statistics.quantiles(latencies, n=100)
    return {
        "signals": n,
        "wall_seconds": round(result.wall_seconds, 3),
        "signals_per_second": round(n / result.wall_seconds, 1),
        "latency_us_p50": round(q[49], 1),
        "latency_us_p99": round(q[98], 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "orders_submitted": result.summary["orders_submitted"],
        "fills": result.summary["fills"],
        "audit_lines": audit_lines,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--signals", type=int, default=10_000)
    args = parser.parse_args()
    print(json.dumps(run(args.signals)))


if __name__ == "__main__":
    main()
