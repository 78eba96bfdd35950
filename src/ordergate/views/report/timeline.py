"""Time in the report: integer microseconds since the epoch (UTC), and the grid every
time series is sampled on.

A chart a thousand pixels wide cannot show a million points, and building a million
points into the page would make it megabytes slower to open, so every series over time
is sampled at the same `GRID_POINTS` instants between the first and the last thing that
happened: the state then (a position, a PnL) is the state after every fill at or before
that instant.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

GRID_POINTS = 1500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros_of(text: str) -> int:
    """An ISO-8601 timestamp with a zone (as the journal and the audit log write them)."""
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return (int(ts.timestamp()) * 1_000_000) + ts.microsecond


def chart_time(us: int) -> str:
    """The form plotly reads as a date on a UTC axis (it ignores zone suffixes)."""
    text = (_EPOCH + timedelta(microseconds=us)).strftime("%Y-%m-%d %H:%M:%S.%f")
    return text[:-7] if text.endswith(".000000") else text.rstrip("0")


def grid(first_us: int, last_us: int, points: int = GRID_POINTS) -> list[int]:
    """`points` instants from `first_us` to `last_us`, both included (one if they are equal)."""
    if last_us <= first_us:
        return [first_us]
    span = last_us - first_us
    count = max(2, min(points, span + 1))
    return [first_us + (span * i) // (count - 1) for i in range(count)]
