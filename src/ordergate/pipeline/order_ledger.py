"""`OrderLedger`: the one place where venue reports change orders.

It owns the in-memory working set of orders and, for every change, does three things in
a fixed order: apply it to the `Order` (the transition table decides what is legal),
write it to the journal, publish the event. Fills are idempotent by venue trade ID.
Reports are applied defensively: a status older than the one already known, or a fill
seen before, changes nothing. A report that would make a transition the table forbids
(a venue calling REJECTED an order it had accepted) is never applied and never raised:
it is drift for that order (`illegal_transition`, reported once per order and
transition, through the engine's drift policy), and the order stays as it was, followed.

It also keeps `working` (`domain/exposure.py`): the remaining quantity of every order not
yet terminal, updated with every change, which is what the risk manager's exposure
checks read.

Finished orders stay in the working set for a grace period so a late fill report (the
cancel/fill race) still finds its order; after that they are evicted, so memory does
not grow with history.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from ordergate.bus import EventBus
from ordergate.clock import Clock
from ordergate.domain.exposure import WorkingOrders
from ordergate.domain.fill import Fill
from ordergate.domain.order import Order, OrderStatus
from ordergate.events import (
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFailed,
    OrderFilled,
    OrderPlaced,
    OrderTransitioned,
    ReconciliationDrift,
)
from ordergate.journal.barrier import fsync_together
from ordergate.journal.order_journal import OrderJournal
from ordergate.venues.base import OrderReport, TradeReport

S = OrderStatus
# Venue statuses that end an order regardless of fills; FILLED is reached through fills.
_TERMINAL_REPORTS = {S.CANCELLED, S.EXPIRED, S.REJECTED}


class OrderLedger:
    def __init__(
        self, journal: OrderJournal, bus: EventBus, clock: Clock, grace_s: float = 300.0,
        on_drift: Callable[[ReconciliationDrift], None] | None = None,
    ) -> None:
        self.journal = journal
        self._bus = bus
        self._on_drift = on_drift or bus.publish
        self._illegal: dict[str, set[OrderStatus]] = {}  # client order ID -> targets reported
        self._clock = clock
        self._grace = timedelta(seconds=grace_s)
        self._orders: dict[str, Order] = {}
        self._finished: deque[tuple[datetime, str]] = deque()
        self.working = WorkingOrders()
        self.before_send: list[Callable[[], int | None]] = []
        """Run before every send's journal commit: the engine flushes the audit lines of
        the decision here and returns the audit file's descriptor, fsync'ed with the
        journal's WAL, so the lines are on disk before the request leaves, as the order is."""

    # ------------------------------------------------------------------ lookup

    def get(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    def live_orders(self) -> list[Order]:
        """Orders not yet terminal, oldest first."""
        return [o for o in self._orders.values() if not o.status.is_terminal]

    # ------------------------------------------------------------------ changes

    def publish(self, event: object) -> None:
        """Publish an order event that changes no state (an unresolved order, slippage)."""
        self._bus.publish(event)

    async def commit_before_send(self) -> None:
        """The write-before-send barrier: the decision's audit lines written (live: into
        the journal's transaction), the journal committed, then fsync'ed with any
        descriptor a hook handed over (`journal/barrier.py`; durable mode: a replay's batch
        carries on, the insert still before the send in its transaction)."""
        fds = [fd for flush in self.before_send if (fd := flush()) is not None]
        journal = self.journal
        if not journal.durable:
            return
        began = time.perf_counter()
        wal = journal.commit_for_sync()
        through = journal.wal_sync.committed  # read before the fsync: what it covers
        synced = fds if wal is None else [*fds, wal]
        fsync_began = time.perf_counter()
        await fsync_together(synced)
        self._synced(through, began, fsync_began if synced else None)

    def barrier_now(self) -> None:
        """The same barrier with no send after it, its fsyncs on this thread: for an
        answer of the HTTP API's that no send's barrier covered (`journal/wal_sync.py`)."""
        fds = [fd for flush in self.before_send if (fd := flush()) is not None]
        began = time.perf_counter()
        wal = self.journal.commit_for_sync()
        through = self.journal.wal_sync.committed
        synced = fds if wal is None else [*fds, wal]
        fsync_began = time.perf_counter()
        for fd in synced:
            os.fsync(fd)
        self._synced(through, began, fsync_began if synced else None)

    def _synced(self, through: int, began: float, fsync_began: float | None) -> None:
        """A barrier's fsyncs returned: its commits are on disk, for whoever waits. Timed
        for the metrics: the whole barrier from its commit, and its fsyncs (if it had any
        to make) apart."""
        journal = self.journal
        journal.wal_sync.synced_through(through)
        now = time.perf_counter()
        if journal.on_commit is not None:
            journal.on_commit(now - began)
        if fsync_began is not None and journal.on_fsync is not None:
            journal.on_fsync(now - fsync_began)

    def open(self, order: Order) -> bool:
        """Journal a new order intent. False: this client order ID already exists."""
        self.evict_finished()
        if not self.journal.insert_order(order):
            return False
        self._orders[order.client_order_id] = order
        self.working.update(order)
        return True

    def adopt(self, order: Order) -> None:
        """Take back an order already in the journal (restart recovery)."""
        self._orders[order.client_order_id] = order
        self.working.update(order)

    def transition(self, order: Order, to: OrderStatus, reason: str, code: str = "") -> None:
        now = self._clock.now()
        step = order.transition(to, now, reason)
        if to.is_terminal:  # what is working moves here and with each fill (apply_trade)
            self.working.update(order)
        self.journal.record_transition(order, step)
        publish = self._bus.publish
        publish(OrderTransitioned(now, order.client_order_id, order.signal_id, step.from_status,
                                  to, reason, code))
        if to is S.SUBMITTED:
            publish(OrderPlaced(now, order.client_order_id, order.signal_id, order.account_id,
                                order.venue, order.symbol, order.side, order.order_type,
                                order.quantity, order.price))
        elif to is S.ACCEPTED:
            publish(OrderAccepted(now, order.client_order_id, order.venue_order_id))
        elif to is S.CANCELLED:
            publish(OrderCancelled(now, order.client_order_id, order.signal_id, order.filled_quantity, reason))
        elif to is S.EXPIRED:
            publish(OrderExpired(now, order.client_order_id, order.signal_id, order.filled_quantity, reason))
        elif to is S.REJECTED or to is S.FAILED:
            publish(OrderFailed(now, order.client_order_id, order.signal_id, reason, to is S.REJECTED))
        if to.is_terminal:  # kept for late fills until the grace window has passed
            self._finished.append((now + self._grace, order.client_order_id))

    def apply_trade(self, order: Order, trade: TradeReport) -> bool:
        """Apply one venue trade. False if it was already applied (same trade ID)."""
        fill = Fill(
            order.client_order_id, trade.trade_id, order.account_id, order.venue, order.symbol,
            order.side, trade.price, trade.quantity, trade.fee, trade.fee_currency,
            trade.liquidity, trade.ts,
        )
        if not self.journal.record_fill(fill):
            return False
        if order.venue_order_id is None:
            order.venue_order_id = trade.venue_order_id
        order.add_execution(trade.price, trade.quantity, trade.fee, trade.fee_currency)
        if not order.status.is_terminal:
            to = S.FILLED if order.filled_quantity >= order.quantity else S.PARTIALLY_FILLED
            self._venue_transition(order, to, f"fill {trade.trade_id}: {trade.quantity} @ "
                                   f"{trade.price}")
            if not order.status.is_terminal:  # FILLED left what is working in `transition`
                self.working.update(order)
        # else: a late fill of a cancelled or expired order: counted, status kept (and it
        # no longer counts as working).
        self._bus.publish(OrderFilled(self._clock.now(), fill, order.signal_id,
                                      order.filled_quantity, order.remaining_quantity))
        return True

    def apply_report(self, order: Order, report: OrderReport) -> None:
        """Apply a venue's status report. Fills are applied separately (`apply_trade`),
        so call this after the order's trades: a CANCELLED report then lands on an order
        whose fills are already counted."""
        if order.venue_order_id is None and report.venue_order_id is not None:
            order.venue_order_id = report.venue_order_id
        status = order.status
        if status.is_terminal:
            return
        target = report.status
        if target in _TERMINAL_REPORTS:
            if status is S.PENDING:
                self.transition(order, S.SUBMITTED, "venue answered before the send was recorded")
            if target is not S.REJECTED or order.filled_quantity == 0:
                self._venue_transition(order, target, report.reason or f"venue reports {target}")
        elif status is S.SUBMITTED:
            self.transition(order, S.ACCEPTED, report.reason or "venue acknowledged the order")

    def _venue_transition(self, order: Order, to: OrderStatus, reason: str) -> None:
        """A transition a venue report asks for: applied if the table allows it, reported
        as drift (once per order and target) if not."""
        if order.can_transition(to):
            self.transition(order, to, reason)
            return
        reported = self._illegal.setdefault(order.client_order_id, set())
        if to in reported:
            return
        reported.add(to)
        self._on_drift(ReconciliationDrift(
            self._clock.now(), order.venue, order.account_id, "illegal_transition",
            order.client_order_id, str(order.status), str(to),
            f"{order.venue} reports {to} ({reason}) for an order we hold {order.status}: not a "
            f"legal transition, so not applied; the order stays {order.status} and followed"))

    def cancel_refused(self, order: Order, report: OrderReport, why: str) -> None:
        """The venue refused a cancel and still has the order working: back to working
        (CANCEL_PENDING -> ACCEPTED or PARTIALLY_FILLED), with the venue's reason."""
        to = S.PARTIALLY_FILLED if order.filled_quantity > 0 else S.ACCEPTED
        self.transition(order, to, f"cancel refused by the venue ({why}); the order is working "
                        f"at {order.venue}, filled {order.filled_quantity} of {order.quantity}")

    def evict_finished(self) -> None:
        """Forget finished orders past the grace window (their record is in the journal)."""
        now = self._clock.now()
        finished = self._finished
        while finished and finished[0][0] <= now:
            client_order_id = finished.popleft()[1]
            self._orders.pop(client_order_id, None)
            self._illegal.pop(client_order_id, None)
