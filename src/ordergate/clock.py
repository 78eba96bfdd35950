"""Time, injected: the wall clock live, a simulated clock in replay and tests.

Nothing in the engine calls `datetime.now()` itself; that is what makes a replay
reproduce a live run and lets tests move time without sleeping.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class SimulatedClock:
    """A clock that moves only when told. `sleep` advances it instead of waiting."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a simulated clock needs a timezone-aware start")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance_to(self, when: datetime) -> None:
        """Move forward to `when`; time never runs backwards."""
        if when > self._now:
            self._now = when

    def advance(self, seconds: float) -> None:
        """Move forward; a negative duration is no time at all, as for `asyncio.sleep`."""
        self._now += timedelta(seconds=max(0.0, seconds))

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)


_last_iso: tuple[datetime | None, str] = (None, "")


def isoformat(ts: datetime) -> str:
    """`ts.isoformat()`, remembered for the last time asked, process-wide.

    A decision's audit lines, its journal rows and the signal's own time are mostly one
    instant, and `datetime.isoformat` with a time zone costs about 6,000 instructions
    (it formats through `PyUnicode_FromFormat`): three times a market order in a replay
    when the sink and the journal each remembered their own. Equal times in different
    zones format differently, so the zone must be the same object too. One tuple, read
    and replaced whole, so a thread asking meanwhile gets a matching pair."""
    global _last_iso
    last, text = _last_iso
    if last is None or ts != last or ts.tzinfo is not last.tzinfo:
        text = ts.isoformat()
        _last_iso = (ts, text)
    return text
