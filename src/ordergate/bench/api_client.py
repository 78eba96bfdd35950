"""The HTTP load client of the API benchmark (`bench.api_load`), a process of its own so
that it does not share the server's interpreter lock. It speaks HTTP/1.1 over asyncio
streams itself, on keep-alive connections: a full client library (httpx) costs a few
milliseconds of this process per request, which made the first figures the client's,
not the server's (py-spy: the server idle a fifth of the time). `--concurrency` clients post
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
from urllib.parse import urlsplit

import orjson


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


class _Connection:
    """One keep-alive HTTP/1.1 connection: a request written, its answer read."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 head: bytes) -> None:
        self._reader, self._writer, self._head = reader, writer, head

    @classmethod
    async def open(cls, url: str, token: str) -> _Connection:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        head = (f"POST /v1/signals HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n").encode()
        return cls(reader, writer, head)

    async def post(self, body: bytes) -> int:
        self._writer.write(self._head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        status_line = await self._reader.readline()
        length = 0
        while (line := await self._reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self._reader.readexactly(length)
        return int(status_line.split()[1])

    def close(self) -> None:
        self._writer.close()


async def run(url: str, token: str, n: int, concurrency: int, rate: float, repeat_share: float,
              prefix: str, seed: int) -> dict[str, Any]:
    numbers = plan(n, repeat_share, seed)
    bodies = [orjson.dumps(signal_body(number, prefix)) for number in numbers]
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    idle: asyncio.Queue[_Connection] = asyncio.Queue()
    connections = [await _Connection.open(url, token) for _ in range(concurrency)]
    for connection in connections:
        idle.put_nowait(connection)
    began = time.perf_counter()

    async def one(body: bytes) -> None:
        connection = await idle.get()  # paced: a request waits for a free connection
        sent = time.perf_counter()
        statuses[await connection.post(body)] += 1
        latencies.append((time.perf_counter() - sent) * 1000)
        idle.put_nowait(connection)

    if rate <= 0:
        remaining = iter(bodies)

        async def worker() -> None:
            for body in remaining:
                await one(body)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    else:
        tasks = []
        for index, body in enumerate(bodies):
            delay = began + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(body)))
        await asyncio.gather(*tasks)
    wall = time.perf_counter() - began
    for connection in connections:
        connection.close()
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
