"""The HTTP API under load: `ordergate serve` (in a thread of this process, against the
simulated venue, the journal durable as live unless `--no-fsync`) and a load client in a process of its own
(`bench.api_client`), so the server has an interpreter to itself.

Two phases: as many signals as `--concurrency` clients get answered (throughput), then
a paced open loop at `--rate` requests a second (latency at a steady load). A share of
the requests post a signal ID again, as a retrying client would; afterwards the
simulated venue's own count of orders per client order ID must be 1 for every one.

    python -m ordergate.bench.api_load --n 5000 --rate 200      # JSON out
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from loguru import logger

from ordergate.bench.processes import percentiles
from ordergate.journal.order_journal import OrderJournal
from ordergate.testing import served
from ordergate.venues.guarded import unwrap
from ordergate.venues.simulated import SimulatedVenue

CONFIG = """
[journal]
path = "{root}/journal.sqlite"
durable = {durable}
[audit]
path = "{root}/audit.jsonl"
[validator]
max_signal_age_s = 1e12
[risk]
max_order_notional = "1000000"
[venues.sim]
kind = "simulated"
market_data = "{quotes}"
balances = {{ main = {{ USDT = "100000000", BTC = "1000" }} }}
[server]
host = "127.0.0.1"
port = 0
[[server.tokens]]
name = "bench"
env = "OG_BENCH_TOKEN"
scope = "trade"
"""
TOKEN = "bench-token-5e6f7a8b"


def _client(url: str, n: int, concurrency: int, rate: float, prefix: str) -> dict[str, Any]:
    run = subprocess.run([sys.executable, "-m", "ordergate.bench.api_client", "--url", url,
                          "--token", TOKEN, "--n", str(n), "--concurrency", str(concurrency),
                          "--rate", str(rate), "--prefix", prefix],
                         check=True, capture_output=True, text=True, timeout=900)
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def _timed_fsyncs(journal: OrderJournal) -> list[float]:
    """Each fsync the journal makes from now on, in seconds (its metrics still told)."""
    timed: list[float] = []
    metrics = journal.on_fsync

    def fsynced(seconds: float) -> None:
        timed.append(seconds)
        if metrics is not None:
            metrics(seconds)
    journal.on_fsync = fsynced
    return timed


def measure(n: int, concurrency: int, rate: float, paced_n: int,
            durable: bool = True) -> dict[str, Any]:
    logger.remove()  # as `ordergate serve`: audit lines to their file, warnings to stderr
    logger.add(sys.stderr, level="WARNING", diagnose=False,
               filter=lambda record: "ordergate_audit" not in record["extra"])
    with tempfile.TemporaryDirectory(prefix="ordergate-api-") as tmp:
        root = Path(tmp)
        (root / "serve.toml").write_text(CONFIG.format(root=root, quotes=served.QUOTES,
                                                      durable=str(durable).lower()))
        server = served.start(root, root / "serve.toml", environ={"OG_BENCH_TOKEN": TOKEN})
        fsyncs = _timed_fsyncs(server.engine.journal)
        try:
            throughput = _client(server.url, n, concurrency, 0.0, "max")
            during = list(fsyncs)
            paced = _client(server.url, paced_n, concurrency, rate, "paced")
            venue = unwrap(server.engine.venues["sim"])
            assert isinstance(venue, SimulatedVenue)
            counts = dict(venue.orders_per_client_id)
        finally:
            server.close()
    return {
        "measured": ("`ordergate serve` (FastAPI on uvicorn, one process; durable: the "
                     "journal's commit, with the decision's audit lines in it, fsync'ed "
                     "before each send, and the answer on disk before it is sent: held for "
                     "the next send's barrier, or a barrier of its own a turn later) "
                     "against the in-process simulated venue; the load from a separate process over HTTP/1.1 "
                     "keep-alive connections, POST /v1/signals with ~5% of signal IDs posted "
                     "again; latency from request sent to answer read, in the client; "
                     "throughput_fsyncs: the journal's fsyncs during the throughput phase, "
                     "per request and each one's time (the disk's part)"),
        "throughput": throughput,
        "throughput_fsyncs": {
            "per_request": round(len(during) / throughput["requests"], 3),
            "fsync_us": percentiles([seconds * 1e6 for seconds in during])},
        "paced": paced,
        "venue_orders": len(counts),
        "orders_per_client_id_max": max(counts.values(), default=0),
        "every_client_id_once": all(count == 1 for count in counts.values()),
        "durable": durable,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--paced-n", type=int, default=2000)
    parser.add_argument("--no-fsync", action="store_true",
                        help="journal.durable = false: no commit or fsync before each send")
    a = parser.parse_args()
    print(json.dumps(measure(a.n, a.concurrency, a.rate, a.paced_n, durable=not a.no_fsync)))


if __name__ == "__main__":
    main()
