"""Restart recovery: what the journal says was in flight, checked against the venue.

On start the engine (1) rebuilds positions from the journaled fills, and (2) for every
order the journal has not seen finish, asks the venue for it by client order ID:
- found: adopt the venue's state and fetch its fills (fills are keyed by trade ID, so
  one seen before the crash is not counted again); still working -> followed as usual;
- explicitly not found, `lookup_attempts` times: the order never reached the venue.
  Policy `fail` (the default) marks it FAILED; policy `resubmit` sends it again with the
  same client order ID if it is younger than `resubmit_max_age_s`. Neither can create a
  second live order for one intent: the venue has just said it holds none;
- the venue cannot be asked (timeout, 5xx): the order stays as it is, unresolved, and
  the reconciler keeps asking. A transport error is never taken for "not found".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ordergate.domain.fill import Fill
from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.values import Liquidity, OrderType, Side, TimeInForce
from ordergate.events import OrderUnresolved
from ordergate.pipeline.execute import Executor, Lookup
from ordergate.pipeline.order_ledger import OrderLedger
from ordergate.pipeline.reconcile import Reconciler
from ordergate.subscribers.positions import PositionTracker
from ordergate.venues.base import OrderReport, VenueAdapter

S = OrderStatus


def fill_from_row(row: dict[str, Any]) -> Fill:
    return Fill(row["client_order_id"], row["trade_id"], row["account_id"], row["venue"],
                row["symbol"], Side(row["side"]), Decimal(row["price"]), Decimal(row["quantity"]),
                Decimal(row["fee"]), row["fee_currency"], Liquidity(row["liquidity"]),
                datetime.fromisoformat(row["ts"]))


def order_from_row(row: dict[str, Any], fills: list[Fill]) -> Order:
    def dec(key: str) -> Decimal | None:
        return None if row[key] is None else Decimal(row[key])

    order = Order(
        row["client_order_id"], row["signal_id"], row["strategy_id"], row["account_id"],
        row["venue"], row["symbol"], Side(row["side"]), OrderType(row["order_type"]),
        Decimal(row["quantity"]), dec("price"), TimeInForce(row["time_in_force"]),
        datetime.fromisoformat(row["created_at"]), expected_price=dec("expected_price"),
        expires_at=datetime.fromisoformat(row["expires_at"]) if row["expires_at"] else None,
        status=S(row["status"]), venue_order_id=row["venue_order_id"],
    )
    for fill in fills:  # filled quantity is re-derived from the journaled fills
        order.add_execution(fill.price, fill.quantity, fill.fee)
    return order


class Recovery:
    def __init__(self, ledger: OrderLedger, positions: PositionTracker, executor: Executor,
                 reconciler: Reconciler, policy: str = "fail", resubmit_max_age_s: float = 60.0) -> None:
        self._ledger = ledger
        self._positions = positions
        self._executor = executor
        self._reconciler = reconciler
        self._policy = policy
        self._max_age = timedelta(seconds=resubmit_max_age_s)

    def rebuild_positions(self) -> int:
        rows = self._ledger.journal.fills_in_order()
        for row in rows:
            self._positions.restore(fill_from_row(row))
        return len(rows)

    async def recover_orders(self, venues: dict[str, VenueAdapter], now: datetime) -> int:
        journal = self._ledger.journal
        rows = journal.open_orders()
        for row in rows:
            fills = [fill_from_row(f) for f in journal.fills(row["client_order_id"])]
            order = order_from_row(row, fills)
            self._ledger.adopt(order)
            venue = venues.get(order.venue)
            if venue is None:
                self._unresolved(order, now, f"venue {order.venue!r} is no longer configured")
                continue
            await self._recover(venue, order, now)
        return len(rows)

    async def _recover(self, venue: VenueAdapter, order: Order, now: datetime) -> None:
        if order.status is S.PENDING:
            self._ledger.transition(order, S.SUBMITTED, "recovered: may have been sent before the restart")
        found = await self._executor.lookup(venue, order)
        if isinstance(found, OrderReport):
            await self._reconciler.sync(venue, order, found)
        elif found is Lookup.ABSENT and order.status is S.SUBMITTED:
            await self._absent(venue, order, now)
        else:
            why = ("the venue could not be asked" if found is Lookup.UNKNOWN
                   else f"the venue has no record of this {order.status} order")
            self._unresolved(order, now, f"recovered: {why}; following it")
        if not order.status.is_terminal:
            self._reconciler.follow(venue, order)

    async def _absent(self, venue: VenueAdapter, order: Order, now: datetime) -> None:
        if self._policy == "resubmit" and now - order.created_at <= self._max_age:
            report = await self._executor.submit(venue, order)
            if report is not None:
                await self._reconciler.sync(venue, order, report)
            return
        self._ledger.transition(order, S.FAILED, "recovered: the venue never received the "
                                f"order (policy {self._policy})")

    def _unresolved(self, order: Order, now: datetime, reason: str) -> None:
        self._ledger.publish(OrderUnresolved(now, order.client_order_id, order.signal_id, reason))
