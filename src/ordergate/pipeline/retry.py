"""Retry pacing: exponential backoff with full jitter, on the injected clock.

The schedule comes from the `backoff` library (`backoff.expo`); the loop is ours because
`backoff`'s decorators sleep on the real event loop, and a replay must sleep on the
simulated clock. Jitter draws from a seeded generator when a backtest asks for one, so
a replay with injected faults is still byte-for-byte repeatable.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import backoff

from ordergate.clock import Clock


class RetryPacer:
    def __init__(
        self, clock: Clock, base_s: float, cap_s: float, seed: int | None = None
    ) -> None:
        self._clock = clock
        self._base = base_s
        self._cap = cap_s
        self._rng = random.Random(seed)

    def delays(self) -> Iterator[float]:
        """Jittered delays for one retry sequence: uniform(0, min(cap, base * 2**n))."""
        schedule = backoff.expo(base=2, factor=self._base, max_value=self._cap)
        next(schedule)  # backoff's generators are primed with one send
        uniform = self._rng.uniform
        for ceiling in schedule:
            yield uniform(0, ceiling)

    async def pause(self, delays: Iterator[float], at_least: float = 0.0) -> None:
        """Sleep the next delay of a sequence, or `at_least` (a venue's Retry-After)."""
        await self._clock.sleep(max(next(delays), at_least))
