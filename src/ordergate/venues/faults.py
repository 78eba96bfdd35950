"""Fault injection for the simulated venue: the failures real venues produce, on demand.

A test queues faults per operation ("place", "fetch_order", "cancel", ...); each call to
that operation consumes the next one. `TIMEOUT_AFTER_ACCEPT` is the one that costs money
elsewhere: the venue takes the order and the caller hears nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum


class Fault(StrEnum):
    TIMEOUT_BEFORE_ACCEPT = "timeout_before_accept"  # request lost: nothing happened
    TIMEOUT_AFTER_ACCEPT = "timeout_after_accept"    # order taken, reply lost
    UNAVAILABLE = "unavailable"                      # 5xx before processing
    RATE_LIMITED = "rate_limited"                    # 429 with Retry-After
    REJECT = "reject"                                # the venue refuses the order


class FaultPlan:
    def __init__(self) -> None:
        self._queued: dict[str, deque[Fault]] = {}
        self.down = False
        """While True every call fails with `VenueUnavailable` (an outage)."""

    def inject(self, operation: str, fault: Fault, times: int = 1) -> None:
        self._queued.setdefault(operation, deque()).extend([fault] * times)

    def next_for(self, operation: str) -> Fault | None:
        queue = self._queued.get(operation)
        return queue.popleft() if queue else None

    def clear(self) -> None:
        self._queued.clear()
        self.down = False

    @contextmanager
    def suspended(self) -> Iterator[None]:
        """Calls inside the block meet no fault and consume none: for a test's own look at
        the venue's books between steps. The plan (queue and outage) is kept as it was."""
        queued, down = self._queued, self.down
        self._queued, self.down = {}, False
        try:
            yield
        finally:
            self._queued, self.down = queued, down
