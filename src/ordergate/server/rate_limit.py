"""A request rate limit per bearer token: one client cannot starve the others, nor spend
the engine's one-decision lock (and the venues' own limits) for everyone.

Each token with `requests_per_s` in `[[server.tokens]]` gets a token bucket of `burst`
requests, refilled at `requests_per_s`. A request takes one; with none left it is
refused at once (a server does not queue a client's excess) with 429 problem+json and
`Retry-After`: the whole seconds until a request would pass again, at least 1
(RFC 9110 delta-seconds). Every request a token makes is counted, one its scope does not
allow included; an unknown token is not (it is 401 before any bucket is looked at).
Health and the OpenAPI document need no token and are never limited. Each refusal is
told to `on_refused` with the token's name (`ordergate_http_rate_limited_total{token}`):
a client being throttled is an operator's question, not only the client's.

Time is `time.monotonic` (injectable): a wall-clock jump neither refills nor drains a
bucket. One process, one event loop: no lock needed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from ordergate.server.problems import Problem


@dataclass(slots=True)
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    at: float


class RequestLimits:
    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 on_refused: Callable[[str], None] | None = None) -> None:
        self._clock = clock
        self.on_refused = on_refused
        self._buckets: dict[str, _Bucket] = {}

    def limit(self, name: str, requests_per_s: float, burst: int | None = None) -> None:
        """Limit the principal `name` (a token's name) to `requests_per_s`."""
        capacity = float(burst if burst is not None else max(1, math.ceil(requests_per_s)))
        self._buckets[name] = _Bucket(requests_per_s, capacity, capacity, self._clock())

    def admit(self, name: str) -> None:
        """Take one request from `name`'s bucket; raises the 429 `Problem` when empty."""
        bucket = self._buckets.get(name)
        if bucket is None:
            return
        now = self._clock()
        bucket.tokens = min(bucket.capacity, bucket.tokens + (now - bucket.at) * bucket.rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return
        wait = (1 - bucket.tokens) / bucket.rate
        retry_after = max(1, math.ceil(wait))
        if self.on_refused is not None:
            self.on_refused(name)
        raise Problem(429, "rate-limited", f"the token {name!r} is limited to "
                      f"{bucket.rate:g} requests/s (burst {bucket.capacity:g}); "
                      f"retry in {retry_after} s", headers={"Retry-After": str(retry_after)})
