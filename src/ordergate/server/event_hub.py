"""`EventHub`: the audit log's lines, numbered and kept for the live event stream.

The hub observes the `AuditLog` (`observers`): it gets each batch of lines once it is in
the file, exactly as written, and gives each line the next sequence number. So a client
of `GET /v1/events` sees the JSON an operator greps, in the file's order, and never a
line the file lacks.

**Sequence numbers.** The first line of a run gets the server's start time in
microseconds since the epoch, each later line one more. Within a run the IDs are
consecutive; a later run starts above any ID an earlier one gave out (that would take a
million lines a second), so a `Last-Event-ID` from before a restart is recognised as not
retained (a gap), never read as a position in this run's lines.

**Retention.** The last `retention` lines are kept in a ring (a list indexed by ID modulo
its size: O(1) to append and to read at any ID). A client resuming after ID N gets N+1
onward when N+1 is still in the ring; otherwise it is told, with the first ID it will get
(`Gap`), and is given the oldest lines still kept.

**Clients never slow the engine.** A subscription is a cursor into the shared ring, not a
copy: publishing appends once and wakes the waiting streams, whatever their number. A
client may fall at most `client_buffer` lines behind the newest line (counted from when it
joined: a resume's backlog does not count against it), and its next line must still be in
the ring; one that falls further behind is ended (`overflow`), told the ID it had got to,
and dropped from the hub at once, never skipped silently and never waited for.

**Filters** (account, symbol, event name) are applied per client to each line. Many lines
do not name their symbol or account (a handler's verdict, an order's transition): the
hub tags them from the signal or order they belong to, learnt from the bus (the signal as
it arrives, the order as it is placed) or, for an order placed by an earlier run, from
the journal.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter, Gauge

from ordergate.config import EventStreamSettings
from ordergate.engine import Engine
from ordergate.events import OrderPlaced, TradingSignalGenerated
from ordergate.records import record

_SUBJECTS_MIN = 4096
"""The subject index (signal or order -> account, symbol) keeps at least this many."""


@record
class Entry:
    """One audit line with its sequence number and what a filter looks at. A `record`,
    not a frozen dataclass: nine are built a decision, and a frozen one's `__init__`
    sets each field through `object.__setattr__` (1.9 µs an append in the server)."""

    id: int
    line: str
    event: str
    account: str | None
    symbol: str | None


@dataclass(frozen=True, slots=True)
class Filter:
    """Lines a client asked for: each non-empty set must contain the line's value; a line
    that names no account (or symbol) does not match a filter on it."""

    events: frozenset[str] = frozenset()
    accounts: frozenset[str] = frozenset()
    symbols: frozenset[str] = frozenset()

    def matches(self, entry: Entry) -> bool:
        return ((not self.events or entry.event in self.events)
                and (not self.accounts or entry.account in self.accounts)
                and (not self.symbols or entry.symbol in self.symbols))


@dataclass(frozen=True, slots=True)
class Gap:
    """A resume that cannot be exact: the lines after `after` up to `resumes_at` (not
    included) are not retained; `missed` counts them when they are of this run."""

    after: int
    resumes_at: int
    missed: int | None


@dataclass(eq=False, slots=True)
class Subscription:
    filter: Filter
    cursor: int
    """The ID of the next line to look at; everything before it was sent or filtered."""
    joined_at: int
    """The next ID when the client joined: lag is counted from here or the cursor."""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    ended: str | None = None
    """`overflow` (fell behind) or `shutdown` (the server is stopping); then it is over."""
    left: bool = False

    @property
    def position(self) -> int:
        """The last ID this client has had (sent, or passed over by its filter): a
        `Last-Event-ID` that resumes it with no gap and no duplicate."""
        return self.cursor - 1


class _Ring:
    def __init__(self, capacity: int, first_id: int) -> None:
        self._slots: list[Entry | None] = [None] * capacity
        self.capacity = capacity
        self.next_id = first_id
        self.first_id = first_id
        """The oldest ID retained (== next_id while empty)."""

    def append(self, line: str, event: str, account: str | None, symbol: str | None) -> None:
        entry = Entry(self.next_id, line, event, account, symbol)
        self._slots[entry.id % self.capacity] = entry
        self.next_id += 1
        self.first_id = max(self.first_id, self.next_id - self.capacity)

    def __getitem__(self, entry_id: int) -> Entry:
        entry = self._slots[entry_id % self.capacity]
        assert entry is not None and entry.id == entry_id, entry_id
        return entry


class EventHub:
    def __init__(self, engine: Engine, settings: EventStreamSettings,
                 stop: asyncio.Event | None = None, first_id: int | None = None) -> None:
        """Observe `engine`'s audit log from now on; with `stop`, end every stream when it
        is set (the server is stopping: open streams must not hold up its shutdown)."""
        self.settings = settings
        self._ring = _Ring(settings.retention, time.time_ns() // 1000 if first_id is None
                           else first_id)
        self._origin = self._ring.first_id
        self._subscriptions: set[Subscription] = set()
        self._audit, self._journal = engine.audit, engine.journal
        self._subjects: OrderedDict[str, tuple[str | None, str | None]] = OrderedDict()
        self._subjects_max = max(_SUBJECTS_MIN, 2 * settings.retention)
        self.closed = False
        registry = engine.metrics.registry
        self.clients = Gauge("ordergate_event_stream_clients",
                             "Clients connected to GET /v1/events", registry=registry)
        self.overflows = Counter("ordergate_event_stream_overflows",
                                 "Event-stream clients disconnected for falling behind",
                                 registry=registry)
        engine.bus.subscribe(TradingSignalGenerated, lambda e: self._learn(
            e.signal_id, e.account_id, e.symbol))
        engine.bus.subscribe(OrderPlaced, lambda e: self._learn(
            e.client_order_id, e.account_id, e.symbol))
        engine.audit.observers.append(self.publish)
        self._stop = stop
        self._closer: asyncio.Task[None] | None = None
        if stop is not None:
            self._closer = asyncio.get_running_loop().create_task(self._close_on(stop))

    @property
    def position(self) -> int:
        """The ID of the newest line (one below the first, before any line)."""
        return self._ring.next_id - 1

    def publish(self, lines: list[str], records: list[dict[str, Any]]) -> None:
        """The audit log's observer: number and keep `lines` (`records`: the dicts they
        were encoded from, for the fields a filter looks at), then wake the streams (and
        end those that fell behind). Never waits, never raises for a client."""
        ring = self._ring
        if not self.closed and self._stop is not None and self._stop.is_set():
            self.close()  # stopping, and the closer has not run yet: the journal may be shut
        if self.closed:
            return
        for line, record in zip(lines, records, strict=True):
            account, symbol = record.get("account_id"), record.get("symbol")
            if account is None or symbol is None:
                known_account, known_symbol = self._subject(record)
                account, symbol = account or known_account, symbol or known_symbol
            ring.append(line, str(record.get("event")), account, symbol)
        limit = self.settings.client_buffer
        for sub in list(self._subscriptions):
            if sub.cursor < ring.first_id or \
                    ring.next_id - max(sub.cursor, sub.joined_at) > limit:
                self.overflows.inc()
                self._end(sub, "overflow")
            else:
                sub.wake.set()

    def open(self, filter_: Filter, after: int | None) -> tuple[Subscription, Gap | None]:
        """A new stream of the lines after ID `after` (None: from the next line on), or,
        when those are no longer retained, from the oldest kept, with the `Gap`."""
        if self.closed:
            raise RuntimeError("the event hub is closed")
        ring, gap = self._ring, None
        cursor = ring.next_id if after is None else after + 1
        if after is not None and not ring.first_id <= cursor <= ring.next_id:
            ours = self._origin <= cursor < ring.first_id  # too old, but of this run
            gap = Gap(after, ring.first_id, ring.first_id - cursor if ours else None)
            cursor = ring.first_id
        sub = Subscription(filter_, cursor, ring.next_id)
        self._subscriptions.add(sub)
        self.clients.inc()
        return sub, gap

    def take(self, sub: Subscription, limit: int = 256) -> list[Entry]:
        """Up to `limit` lines for `sub` that match its filter, advancing its cursor."""
        ring, out = self._ring, list[Entry]()
        if sub.ended is None and sub.cursor < ring.first_id:
            self.overflows.inc()
            self._end(sub, "overflow")
        if sub.ended == "overflow":
            return []  # a shutdown's stream still gets the lines it had coming
        stop_at = ring.next_id
        while sub.cursor < stop_at and len(out) < limit:
            entry = ring[sub.cursor]
            sub.cursor += 1
            if sub.filter.matches(entry):
                out.append(entry)
        if sub.cursor == stop_at:
            sub.wake.clear()
        return out

    def leave(self, sub: Subscription) -> None:
        """The stream's response is over (it ended, or the client went away)."""
        self._subscriptions.discard(sub)
        if not sub.left:
            sub.left = True
            self.clients.dec()

    def close(self) -> None:
        """End every stream (`shutdown`), refuse new ones, stop observing the audit log
        (its last lines, written as the engine closes, have no one left to go to)."""
        if self.closed:
            return
        self.closed = True
        if self.publish in self._audit.observers:
            self._audit.observers.remove(self.publish)
        for sub in list(self._subscriptions):
            self._end(sub, "shutdown")
        if self._closer is not None and self._closer is not asyncio.current_task():
            self._closer.cancel()

    def _end(self, sub: Subscription, why: str) -> None:
        sub.ended = why
        self._subscriptions.discard(sub)
        sub.wake.set()

    async def _close_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.close()

    def _learn(self, key: str, account: str | None, symbol: str | None) -> None:
        self._subjects[key] = (account, symbol)
        if len(self._subjects) > self._subjects_max:
            self._subjects.popitem(last=False)

    def _subject(self, record: dict[str, Any]) -> tuple[str | None, str | None]:
        """Account and symbol of the order or signal a line is about, if known."""
        for key in (record.get("client_order_id"), record.get("signal_id")):
            if isinstance(key, str) and key in self._subjects:
                return self._subjects[key]
        order_id = record.get("client_order_id")
        if isinstance(order_id, str):
            row = self._journal.order(order_id)  # placed by an earlier run: once, then known
            if row is not None:
                self._learn(order_id, row.get("account_id"), row.get("symbol"))
                return self._subjects[order_id]
        return None, None
