"""The fan-out of events to subscribers, on blinker.

blinker holds receivers weakly by default, calls them in no guaranteed order and lets
one raising receiver stop the rest. So here:
- receivers are connected with `weak=False` (a lambda subscriber is not silently dropped);
- each receiver is called on its own: one that raises becomes a `SystemError` event and
  the others still run;
- events published while another is being delivered are queued and delivered after it,
  so every subscriber sees events in the order they happened (an `OrderFilled` before the
  `PositionChanged` it caused).
The ordered handler chain is not built on this: see `ordergate.pipeline.chain`.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from blinker import ANY, Signal

from ordergate.events import SystemError

E = TypeVar("E")
Receiver = Callable[[Any], Any]


class EventBus:
    def __init__(self) -> None:
        self._signals: dict[type, Signal] = {}
        self._routes: dict[type, tuple[Receiver, ...]] = {}
        self._queue: deque[Any] = deque()
        self._delivering = False
        self._pending: deque[tuple[str, Any, Awaitable[Any]]] = deque()

    def subscribe(self, event_type: type[E], receiver: Callable[[E], Any]) -> None:
        """Deliver every event of `event_type` (or a subclass) to `receiver`.

        Subscribe to `object` to receive everything. A receiver may be a coroutine
        function: its coroutines are awaited, in order, by `drain()`."""
        signal = self._signals.setdefault(event_type, Signal())
        signal.connect(receiver, weak=False)
        self._routes.clear()

    def publish(self, event: Any) -> None:
        """Deliver `event` to its receivers now, or, published by one of them, once the
        event being delivered has been. The delivery loop is written out here, not in
        methods of its own: ten events a signal, two calls fewer each."""
        queue = self._queue
        queue.append(event)
        if self._delivering:
            return
        self._delivering = True
        routes = self._routes
        try:
            while queue:
                event = queue.popleft()
                for receiver in routes.get(type(event)) or self._route(type(event)):
                    try:
                        result = receiver(event)
                    except Exception as exc:  # noqa: BLE001 - isolate the failing subscriber
                        self._report(_name(receiver), event, exc)
                        continue
                    if result is not None and inspect.isawaitable(result):
                        self._pending.append((_name(receiver), event, result))
        finally:
            self._delivering = False

    async def drain(self) -> None:
        """Await the coroutines that async receivers returned, in publication order."""
        while self._pending:
            name, event, awaitable = self._pending.popleft()
            try:
                await awaitable
            except Exception as exc:  # noqa: BLE001 - a subscriber must not stop the engine
                self._report(name, event, exc)

    def _route(self, event_type: type) -> tuple[Receiver, ...]:
        """The receivers for one event type, resolved once: every receiver is connected
        strongly to ANY sender, so the set changes only when someone subscribes."""
        route = self._routes.get(event_type)
        if route is None:
            route = tuple(
                receiver
                for t in event_type.__mro__ if t in self._signals
                for receiver in self._signals[t].receivers_for(ANY)
            )
            self._routes[event_type] = route
        return route

    def _report(self, source: str, event: Any, exc: Exception) -> None:
        if isinstance(event, SystemError):
            return  # a receiver of SystemError itself failed: do not loop
        self.publish(
            SystemError(
                ts=getattr(event, "ts", None) or datetime.now(UTC),
                source=source,
                error=f"{type(exc).__name__}: {exc}",
                event_type=type(event).__name__,
            )
        )


def _name(receiver: Receiver) -> str:
    owner = getattr(receiver, "__self__", None)
    if owner is not None:
        return f"{type(owner).__name__}.{getattr(receiver, '__name__', '?')}"
    return getattr(receiver, "__qualname__", repr(receiver))
