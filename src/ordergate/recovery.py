"""Restart recovery: what the journal says was in flight, checked against the venue.

On start the engine (1) rebuilds positions from the journaled fills (and tells a venue
that reads balances only for the assets it knows of, `BalanceScoped`, which symbols they
are held in), and (2) for every
order the journal has not seen finish, asks the venue for it by client order ID (and by
the venue order ID journaled before the send, on venues whose IDs are computable then:
Polymarket has no client order ID, so a fresh adapter finds the order by that alone):
- found: adopt the venue's state and fetch its fills (fills are keyed by trade ID, so
  one seen before the crash is not counted again); still working -> followed as usual;
- not found: no verdict yet. A request sent just before the crash can still be in
  transit and execute until the venue's request window runs out (`resend_after_s` +
  `clock_skew_margin_s`), so the order is followed; once the venue has said "not found"
  `lookup_attempts` times *and* that window has passed since the order's last possible
  send (its last journaled change plus the executor's `submit_deadline_s`), the policy
  decides: `fail` (the default) marks it FAILED; `resubmit` sends it again with the same
  client order ID if it is younger than `resubmit_max_age_s` and the kill switch is
  ACTIVE (never while HALTED or REDUCING), and never an amendment (role `amendment`: it
  was sized beside an old leg that may have filled since; it is FAILED, the old leg
  working again, `amend_native.py`). Neither can create a second live order for one
  intent: every earlier send can no longer execute, and the venue holds none;
- the venue cannot be asked (timeout, 5xx): the order stays as it is, unresolved, and
  the reconciler keeps asking. A transport error is never taken for "not found".
A HELD order (an emulated stop, never sent) is not looked up at all: no venue has it,
so "not found" would say nothing, and the absent-order policy must never fail or resend
it. It is adopted as it stands and the stop emulator arms it again (`restore`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from ordergate.clock import Clock
from ordergate.config import RecoverySettings
from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.values import OrderRole
from ordergate.events import OrderUnresolved
from ordergate.journal.rows import fill_from_row, order_from_row
from ordergate.pipeline.execute import Executor
from ordergate.pipeline.order_ledger import OrderLedger
from ordergate.pipeline.reconcile import Reconciler
from ordergate.subscribers.positions import PositionTracker
from ordergate.venues.base import OrderNotFound, VenueAdapter, VenueError, balance_scoped

S = OrderStatus


class Recovery:
    def __init__(self, ledger: OrderLedger, positions: PositionTracker, executor: Executor,
                 reconciler: Reconciler, clock: Clock, trading_state: Callable[[], str],
                 settings: RecoverySettings, submit_deadline_s: float) -> None:
        self._ledger = ledger
        self._positions = positions
        self._executor = executor
        self._reconciler = reconciler
        self._clock = clock
        self._trading_state = trading_state
        self._policy = settings.absent_order_policy
        self._max_age = timedelta(seconds=settings.resubmit_max_age_s)
        self._submit_deadline = timedelta(seconds=submit_deadline_s)

    def rebuild_positions(self) -> int:
        rows = self._ledger.journal.fills_in_order()
        for row in rows:
            self._positions.restore(fill_from_row(row))
        return len(rows)

    async def recover_orders(self, venues: Mapping[str, VenueAdapter]) -> int:
        self._announce_positions(venues)
        journal = self._ledger.journal
        rows = journal.open_orders()
        for row in rows:
            fills = [fill_from_row(f) for f in journal.fills(row["client_order_id"])]
            order = order_from_row(row, fills)
            self._ledger.adopt(order)
            if order.status is S.HELD:
                continue  # ordergate's own, never sent: the stop emulator re-arms it
            venue = venues.get(order.venue)
            if venue is None:
                self._unresolved(order, f"venue {order.venue!r} is no longer configured")
                continue
            # Every send of an order happens within the executor's deadline of its last
            # journaled change (its creation, or a resubmission by an earlier recovery).
            last_send = datetime.fromisoformat(row["updated_at"]) + self._submit_deadline
            await self._recover(venue, order, last_send)
        return len(rows)

    def _announce_positions(self, venues: Mapping[str, VenueAdapter]) -> None:
        """Tell each venue that reads balances asset by asset (`BalanceScoped`) which
        symbols the rebuilt positions are held in, before anything compares balances."""
        for name, venue in venues.items():
            scoped = balance_scoped(venue)
            if scoped is not None:
                scoped.watch_symbols(sorted({
                    symbol for (_, at, symbol), position in self._positions.positions.items()
                    if at == name and position.quantity != 0}))

    async def _recover(self, venue: VenueAdapter, order: Order, last_send: datetime) -> None:
        """One look now; the reconciler asks again, so a start is not held up by lookups."""
        if order.status is S.PENDING:
            self._ledger.transition(order, S.SUBMITTED, "recovered: may have been sent before the restart")
        try:
            report = await venue.fetch_order(order.symbol, order.client_order_id, order.venue_order_id)
        except OrderNotFound:
            why = ("the venue does not know the order yet; a request sent before the restart "
                   f"may still land, so the {self._policy!r} policy waits until none can"
                   if order.status is S.SUBMITTED
                   else f"the venue has no record of this {order.status} order")
            self._unresolved(order, f"recovered: {why}; following it")
        except VenueError:
            self._unresolved(order, "recovered: the venue could not be asked; following it")
        else:
            await self._reconciler.sync(venue, order, report)
        if not order.status.is_terminal:
            self._reconciler.follow(venue, order, on_absent=self._absent,
                                    last_send=min(last_send, self._clock.now()))

    async def _absent(self, venue: VenueAdapter, order: Order) -> None:
        """The venue never got the order, and no request of it can still land."""
        state = self._trading_state()
        young = self._clock.now() - order.created_at <= self._max_age
        if order.role is OrderRole.AMENDMENT:
            # An amendment was sized from its lineage's fills at the time, beside an old
            # leg that may since have filled or still work (a native replace that never
            # landed left it working): sent again blindly, it could fill past the total.
            self._ledger.transition(order, S.FAILED, "recovered: the venue never received "
                                    "this amendment; an amendment is never resent (its "
                                    "old leg may have filled or still work): amend again")
            return
        if self._policy == "resubmit" and young and state == "ACTIVE":
            self._ledger.journal.mark_resent(order.client_order_id, self._clock.now())
            await self._ledger.commit_before_send()
            report = await self._executor.submit(venue, order)
            if report is not None:
                await self._reconciler.sync(venue, order, report)
            return
        why = "" if self._policy == "fail" else (
            f"; not resent: trading state is {state}" if young else
            f"; not resent: older than {self._max_age.total_seconds():.0f}s")
        self._ledger.transition(order, S.FAILED, "recovered: the venue never received the "
                                f"order (policy {self._policy}{why})")

    def _unresolved(self, order: Order, reason: str) -> None:
        self._ledger.publish(OrderUnresolved(self._clock.now(), order.client_order_id,
                                             order.signal_id, reason))
