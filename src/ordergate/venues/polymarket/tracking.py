"""`TrackedOrders`: the orders the adapter follows, by client and by venue order ID, kept
only as long as they are useful.

Polymarket orders carry no client order ID, so within a session the adapter maps ours to
the venue's (and keeps the signed order, to re-send identical bytes after an ambiguous
placement). Nothing of that must outlive its use in a long live run: an order is dropped
`grace` after it ended with every trade of it final (a terminal report that no trade can
change). What a late question about it needs lives in the journal: the engine passes the
venue order ID it journaled before the send, and the adapter answers from the venue by
that ID alone, as after a restart. An order the venue says it does not hold is never
kept (a lookup of a made-up ID leaves nothing behind).
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from ordergate.clock import Clock
from ordergate.venues.base import OrderReport
from ordergate.venues.polymarket.reports import Tracked


class TrackedOrders:
    def __init__(self, clock: Clock, grace_s: float) -> None:
        self._clock = clock
        self._grace = timedelta(seconds=grace_s)
        self.by_cid: dict[str, Tracked] = {}
        self.by_oid: dict[str, Tracked] = {}
        self._finished: deque[tuple[datetime, Tracked]] = deque()

    def __len__(self) -> int:
        return len(self.by_oid)

    def symbols(self) -> set[str]:
        """The tokens of every order followed now."""
        return {tracked.symbol for tracked in self.by_oid.values()}

    def track(self, tracked: Tracked) -> None:
        """An order this session placed (or is about to)."""
        self.by_cid[tracked.client_order_id] = tracked
        self.by_oid[tracked.venue_order_id] = tracked

    def adopt(self, tracked: Tracked) -> None:
        """An order the venue showed us, known by its venue order ID (after a restart, or
        after it was dropped): kept, without displacing what this session placed under
        the same client order ID."""
        if self.by_oid.get(tracked.venue_order_id) is tracked:
            return
        self.by_oid[tracked.venue_order_id] = tracked
        if tracked.client_order_id:
            self.by_cid.setdefault(tracked.client_order_id, tracked)

    def alias(self, tracked: Tracked, venue_order_id: str) -> None:
        """The venue answered with an ID other than the computed one: both find it."""
        tracked.alias = tracked.venue_order_id
        tracked.venue_order_id = venue_order_id
        self.by_oid[venue_order_id] = tracked

    def untrack(self, tracked: Tracked) -> None:
        if self.by_cid.get(tracked.client_order_id) is tracked:
            del self.by_cid[tracked.client_order_id]
        for key in (tracked.venue_order_id, tracked.alias):
            if key is not None and self.by_oid.get(key) is tracked:
                del self.by_oid[key]

    def finish(self, tracked: Tracked, report: OrderReport) -> None:
        """The order's final report (terminal, every trade final): remembered, and the
        order dropped after the grace window."""
        if tracked.terminal is None:
            self._finished.append((self._clock.now(), tracked))
        tracked.terminal = report

    def evict(self) -> int:
        """Drop every order finished more than `grace` ago; returns how many."""
        horizon = self._clock.now() - self._grace
        dropped = 0
        while self._finished and self._finished[0][0] <= horizon:
            _, tracked = self._finished.popleft()
            self.untrack(tracked)
            tracked.body = None
            dropped += 1
        return dropped
