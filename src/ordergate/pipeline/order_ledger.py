"""`OrderLedger`: the one place where venue reports change orders.

It owns the in-memory working set of orders and, for every change, does three things in
a fixed order: apply it to the `Order` (the transition table decides what is legal),
write it to the journal, publish the event. Fills are idempotent by venue trade ID.
Reports are applied defensively: a status older than the one already known, or a fill
seen before, changes nothing.

It also keeps `working` (`domain/exposure.py`): the remaining quantity of every order not
yet terminal, updated with every change, which is what the risk manager's exposure
checks read.

Finished orders stay in the working set for a grace period so a late fill report (the
cancel/fill race) still finds its order; after that they are evicted, so memory does
not grow with history.
"""

from __future__ import annotations

from collections import deque
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
)
from ordergate.journal.order_journal import OrderJournal
from ordergate.venues.base import OrderReport, TradeReport

S = OrderStatus
# Venue statuses that end an order regardless of fills; FILLED is reached through fills.
_TERMINAL_REPORTS = {S.CANCELLED, S.EXPIRED, S.REJECTED}


class OrderLedger:
    def __init__(
        self, journal: OrderJournal, bus: EventBus, clock: Clock, grace_s: float = 300.0
    ) -> None:
        self.journal = journal
        self._bus = bus
        self._clock = clock
        self._grace = timedelta(seconds=grace_s)
        self._orders: dict[str, Order] = {}
        self._finished: deque[tuple[datetime, str]] = deque()
        self.working = WorkingOrders()

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

    def open(self, order: Order) -> bool:
        """Journal a new order intent. False: this client order ID already exists."""
        self._evict_finished()
        if not self.journal.insert_order(order):
            return False
        self._orders[order.client_order_id] = order
        self.working.update(order)
        return True

    def adopt(self, order: Order) -> None:
        """Take back an order already in the journal (restart recovery)."""
        self._orders[order.client_order_id] = order
        self.working.update(order)

    def transition(self, order: Order, to: OrderStatus, reason: str) -> None:
        now = self._clock.now()
        step = order.transition(to, now, reason)
        self.working.update(order)
        self.journal.record_transition(order, step)
        publish = self._bus.publish
        publish(OrderTransitioned(now, order.client_order_id, order.signal_id, step.from_status, to, reason))
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
        if to.is_terminal:
            self._finished.append((now, order.client_order_id))

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
            self.transition(order, to, f"fill {trade.trade_id}: {trade.quantity} @ {trade.price}")
        # else: a late fill of a cancelled or expired order: counted, status kept.
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
                self.transition(order, target, report.reason or f"venue reports {target}")
        elif status is S.SUBMITTED:
            self.transition(order, S.ACCEPTED, report.reason or "venue acknowledged the order")

    def _evict_finished(self) -> None:
        horizon = self._clock.now() - self._grace
        finished = self._finished
        while finished and finished[0][0] <= horizon:
            self._orders.pop(finished.popleft()[1], None)
