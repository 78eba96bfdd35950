"""The supervisor: nothing fails silently, and no control loop dies behind a live front.

Two kinds of trouble reach it, from the engine's own loops (the tick: polling orders,
cancelling at timeouts and good-till-dates, reconciliation, instrument refreshes) and
from a decision:

- **An unexpected exception** (a bug, or venue data an adapter let through): recorded as a
  `SystemError` event (audited as `system_error` with the exception's type, message and
  the place it was raised; counted in `ordergate_system_errors`). The engine applies its
  policy (`[supervision] on_error`, default `halt`: the kill switch goes to HALTED). The
  loop it happened in carries on with what it safely can: the next order, the next venue,
  the next tick. A subscriber that raises is isolated by the bus the same way.
- **A venue call that fails in the background** (a `VenueError` while following an order,
  reconciling or reloading instruments): such calls are retried at the next poll, so one
  outage would otherwise be either silent or one audit line per poll. It is audited and
  counted once per *episode*: when a venue's operation starts failing (`venue_error`,
  decision `failing`) and when it answers again (`recovered`, with how many calls failed
  and for how long). A transport error is about the venue, so it is one episode per
  (venue, operation); a venue's refusal of one request (an unknown order ID, a malformed
  request) is about that request, so it is one episode per order. An authentication
  failure disables the venue with a clear reason (`venue_disabled`): every call would
  fail the same way until an operator fixes the credentials and restarts.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ordergate.bus import EventBus
from ordergate.clock import Clock
from ordergate.events import SystemError, VenueCallFailed, VenueCallRecovered
from ordergate.venues.base import AuthenticationFailed, VenueError

class Troubles(Protocol):
    """What the loops report to (the `Supervisor`): the reconciler, the drift check."""

    def venue_failed(self, venue: str, operation: str, exc: VenueError, subject: str = "") -> None:
        ...

    def venue_ok(self, venue: str, operation: str, subject: str = "") -> None: ...

    def crashed(self, source: str, exc: BaseException, signal_id: str | None = None) -> None: ...


class _RaiseTroubles:
    """For a part built on its own (unit tests): a failing venue call is left to the
    caller's retry, an unexpected exception is raised, never hidden."""

    def venue_failed(self, venue: str, operation: str, exc: VenueError, subject: str = "") -> None:
        return None  # the caller carries on as it would supervised: the next poll asks again

    def venue_ok(self, venue: str, operation: str, subject: str = "") -> None:
        return None

    def crashed(self, source: str, exc: BaseException, signal_id: str | None = None) -> None:
        raise exc


RAISE_TROUBLES: Troubles = _RaiseTroubles()

_MAX_EPISODES = 10_000  # per-order episodes of orders that never answered again; oldest go


@dataclass(slots=True)
class _Episode:
    since: datetime
    failures: int
    error: str


def where_raised(exc: BaseException) -> str:
    """`module/file.py:123 in function` of the innermost frame of the traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    frame = frames[-1]
    parts = Path(frame.filename).parts
    short = "/".join(parts[parts.index("ordergate"):]) if "ordergate" in parts else parts[-1]
    return f"{short}:{frame.lineno} in {frame.name}"


class Supervisor:
    def __init__(self, bus: EventBus, clock: Clock,
                 disable_venue: Callable[[str, str], None]) -> None:
        self._bus = bus
        self._clock = clock
        self._disable_venue = disable_venue
        self._episodes: dict[tuple[str, str, str], _Episode] = {}

    def crashed(self, source: str, exc: BaseException, signal_id: str | None = None) -> None:
        """An unexpected exception in `source`: audited and counted; the engine's policy
        (it subscribes to `SystemError`) decides what it does to the kill switch."""
        self._bus.publish(SystemError(self._clock.now(), source, f"{type(exc).__name__}: {exc}",
                                      "", where_raised(exc), signal_id))

    def venue_failed(self, venue: str, operation: str, exc: VenueError, subject: str = "") -> None:
        """A background call failed; it will be tried again. `subject` names what the call
        was about (a client order ID, an account), for refusals specific to it."""
        key = (venue, operation, "" if exc.retryable else subject)
        error = f"{type(exc).__name__}: {exc}"
        episode = self._episodes.get(key)
        if episode is not None:
            episode.failures += 1
            return
        if len(self._episodes) >= _MAX_EPISODES:
            del self._episodes[next(iter(self._episodes))]
        now = self._clock.now()
        self._episodes[key] = _Episode(now, 1, error)
        self._bus.publish(VenueCallFailed(now, venue, operation, key[2], error))
        if isinstance(exc, AuthenticationFailed):
            self._disable_venue(venue, f"authentication failed ({operation}): {exc}")

    def venue_ok(self, venue: str, operation: str, subject: str = "") -> None:
        """A background call answered: the episodes it ends are reported as recovered."""
        if not self._episodes:
            return
        for key in ((venue, operation, ""), (venue, operation, subject)):
            episode = self._episodes.pop(key, None)
            if episode is not None:
                now = self._clock.now()
                self._bus.publish(VenueCallRecovered(
                    now, venue, operation, key[2], episode.failures,
                    (now - episode.since).total_seconds(), episode.error))
            if not subject:
                break
