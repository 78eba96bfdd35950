"""The HTTP load client of the API benchmark (`bench.api_load`), a process of its own so
that it does not share the server's interpreter lock: `--concurrency` clients post
signals to `POST /v1/signals`, a share of them again with a signal ID already posted (an
idempotent retry), either as fast as answers come (`--rate 0`) or paced at `--rate`
requests a second in all (open loop: a slow answer does not slow the next request).

    python -m ordergate.bench.api_client --url URL --token T --n 5000 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from collections import Counter
from typing import Any

import httpx


def signal_body(number: int, prefix: str) -> dict[str, Any]:
    """Alternately a buy and a sell of one lot, so the position stays within its limits."""
    return {"signal_id": f"{prefix}-{number}", "ts": "2026-01-02T00:10:00Z",
            "strategy_id": "api-bench", "account_id": "main", "venue": "sim",
            "symbol": "BTC/USDT", "side": "buy" if number % 2 == 0 else "sell",
            "quantity": "0.001", "stop_loss": "30000" if number % 2 == 0 else "60000",
            "take_profit": "1000000" if number % 2 == 0 else "1000"}


def plan(n: int, repeat_share: float, seed: int) -> list[int]:
    """Signal numbers to post, in order: new ones, and now and then one posted before."""
    rng, fresh = random.Random(seed), 0
    numbers: list[int] = []
    while len(numbers) < n:
        if fresh and rng.random() < repeat_share:
            numbers.append(rng.randrange(fresh))
        else:
            numbers.append(fresh)
            fresh += 1
    return numbers


async def run(url: str, token: str, n: int, concurrency: int, rate: float, repeat_share: float,
              prefix: str, seed: int) -> dict[str, Any]:
    numbers = plan(n, repeat_share, seed)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in numbers:
        queue.put_nowait(number)
    began = time.perf_counter()

    async def one(client: httpx.AsyncClient, number: int) -> None:
        sent = time.perf_counter()
        answer = await client.post("/v1/signals", json=signal_body(number, prefix))
        latencies.append((time.perf_counter() - sent) * 1000)
        statuses[answer.status_code] += 1

    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits,
                                 timeout=30.0) as client:
        if rate <= 0:
            async def worker() -> None:
                while not queue.empty():
                    await one(client, queue.get_nowait())
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        else:
            pending: set[asyncio.Task[None]] = set()
            for index, number in enumerate(numbers):
                delay = began + index / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = asyncio.create_task(one(client, number))
                pending.add(task)
                task.add_done_callback(pending.discard)
            await asyncio.gather(*pending)
    wall = time.perf_counter() - began
    q = statistics.quantiles(latencies, n=100)
    return {"requests": n, "distinct_signals": len(set(numbers)), "concurrency": concurrency,
            "rate_asked": rate or None, "wall_seconds": round(wall, 3),
            "requests_per_second": round(n / wall, 1),
            "latency_ms": {"p50": round(q[49], 2), "p99": round(q[98], 2),
                           "max": round(max(latencies), 2)},
            "statuses": {str(k): v for k, v in sorted(statuses.items())}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--repeat-share", type=float, default=0.05)
    parser.add_argument("--prefix", default="api")
    parser.add_argument("--seed", type=int, default=1)
    a = parser.parse_args()
    print(json.dumps(asyncio.run(run(a.url, a.token, a.n, a.concurrency, a.rate,
                                     a.repeat_share, a.prefix, a.seed))))


if __name__ == "__main__":
    main()
