"""The reconciler: follows each order until the venue's picture and ours agree.

After the send it applies the venue's report (fills first, keyed by trade ID, then the
status), checks slippage against the expected price, and for an order still working it
keeps following it on `poll()`: fetching its status and trades every `poll_interval_s`
and, after `fill_timeout_s`, applying the remainder policy (cancel it, or leave it
working). An order past its good-till-date (`expires_at`) is cancelled at the venue the
same way, whether or not the venue knows GTD. A stop order is exempt from the fill
timeout: it is meant to wait, unfilled, until the market reaches its trigger (a
protective stop cancelled a minute after it was placed would protect nothing); it is
followed until it ends, and cancelled only at `expires_at` or when asked (a triggered
stop_limit resting for the rest waits the same way), and so is a reduce-only exit of a
bracket (its take-profit limit waits for its price as the stop waits for its trigger).
Unresolved orders (SUBMITTED,
answer unknown) are looked up the same way until the venue answers. A HELD order (an
emulated stop, `stop_emulator.py`) is not at any venue: it is never followed or polled,
and cancelling it is local (HELD -> CANCELLED, no venue call).

Nothing here fails silently. A venue call that fails is reported to the `Troubles` it
was given (the engine's supervisor: once per episode, not once per poll), and an
unexpected exception while following one order is reported and does not stop the others
being followed, nor that one at the next poll. A cancel the venue refuses (it answers,
and the order is still working) is applied: the order goes back to working, audited
with the venue's reason, and is asked to cancel again only at its next timeout, not at
every poll.
"""

from __future__ import annotations

import heapq
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ordergate.clock import Clock
from ordergate.config import ReconcilerSettings
from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.values import Side
from ordergate.events import SlippageExceeded
from ordergate.pipeline.chain import SignalContext, Verdict
from ordergate.pipeline.order_ledger import OrderLedger
from ordergate.supervision import RAISE_TROUBLES, Troubles
from ordergate.venues.base import OrderNotFound, OrderReport, VenueAdapter, VenueError

S = OrderStatus


AbsentHandler = Callable[[VenueAdapter, Order], Awaitable[None]]


@dataclass(slots=True)
class _Followed:
    order: Order
    venue: VenueAdapter
    deadline: datetime
    since: datetime
    on_absent: AbsentHandler | None = None
    not_found: int = 0


class Reconciler:
    name = "reconciler"

    def __init__(self, settings: ReconcilerSettings, ledger: OrderLedger, clock: Clock,
                 lookup_attempts: int = 3, request_window_s: float = 0.0,
                 troubles: Troubles | None = None) -> None:
        self._s = settings
        self._troubles = troubles or RAISE_TROUBLES
        self._ledger = ledger
        self._clock = clock
        self._lookup_attempts = lookup_attempts
        self._request_window = timedelta(seconds=request_window_s)
        self._interval = timedelta(seconds=settings.poll_interval_s)
        self._followed: dict[str, _Followed] = {}
        self._due: list[tuple[datetime, int, str]] = []
        self._seq = 0

    @property
    def followed_count(self) -> int:
        return len(self._followed)

    async def handle(self, ctx: SignalContext) -> Verdict:
        order, venue = ctx.order, ctx.venue
        if order is None or venue is None:
            # An algorithm's signal (a TWAP) has no order of its own now: its children are
            # sent later and each followed then. Said so, as this is the signal's answer.
            algorithm = ctx.signal.algorithm
            if algorithm is not None:
                return Verdict.admit(f"no order yet: the {algorithm.name} sends its child "
                                     "orders on its schedule, each followed as it is sent")
            return Verdict.admit("no order to follow")
        if ctx.report is not None:
            await self.sync(venue, order, ctx.report)
        if order.status.is_terminal:
            return Verdict.admit(self._summary(order))
        if order.status is S.HELD:
            return Verdict.admit(f"order {order.client_order_id} HELD by ordergate until its "
                                 "trigger: not at the venue, so not followed there")
        self.follow(venue, order)
        if order.order_type.is_stop:
            return Verdict.admit(f"{self._summary(order)}; following until it triggers and ends "
                                 "(a stop waits: no fill timeout)")
        return Verdict.admit(f"{self._summary(order)}; following for {self._s.fill_timeout_s}s")

    def follow(self, venue: VenueAdapter, order: Order, on_absent: AbsentHandler | None = None,
               last_send: datetime | None = None) -> None:
        """Follow an order to its end. An order still SUBMITTED that the venue keeps not
        finding is absent only once `request_window_s` has passed since its last possible
        send (`last_send`; by default now: every send happened before following began):
        then `on_absent` decides (restart recovery's policy), or it is FAILED. A HELD
        order is not at the venue: not followed (the stop emulator has it)."""
        if order.status is S.HELD:
            return
        now = self._clock.now()
        deadline = now + timedelta(seconds=self._s.fill_timeout_s)
        self._followed[order.client_order_id] = _Followed(order, venue, deadline,
                                                          last_send or now, on_absent)
        self._schedule(now + self._interval, order.client_order_id)

    async def sync(self, venue: VenueAdapter, order: Order, report: OrderReport) -> None:
        """Bring an order up to date with a venue report: its trades, then its status."""
        if report.filled_quantity > order.filled_quantity:
            try:
                trades = await venue.fetch_fills(order.symbol, order.client_order_id,
                                                 report.venue_order_id or order.venue_order_id)
            except VenueError as exc:
                # The fills stay pending (the order is not closed without them): reported
                # once per episode, fetched again at the next poll.
                self._troubles.venue_failed(venue.name, "fetch_fills", exc, order.client_order_id)
                trades = []
            else:
                self._troubles.venue_ok(venue.name, "fetch_fills", order.client_order_id)
            for trade in trades:
                self._ledger.apply_trade(order, trade)
            if order.filled_quantity < report.filled_quantity:
                return  # do not close an order whose fills we have not all seen
        self._ledger.apply_report(order, report)
        if order.status.is_terminal:
            self._check_slippage(order)

    async def poll(self) -> None:
        """Follow every order whose next check is due."""
        now = self._clock.now()
        due = self._due
        while due and due[0][0] <= now:
            _, _, client_order_id = heapq.heappop(due)
            followed = self._followed.get(client_order_id)
            if followed is None:
                continue
            try:
                await self._check(followed, now)
            except Exception as exc:  # noqa: BLE001 - one order's trouble must not stop the rest
                self._troubles.crashed("reconciler.poll", exc, followed.order.signal_id)
            finally:  # followed again at the next poll, whatever happened at this one
                if followed.order.status.is_terminal:
                    del self._followed[client_order_id]
                else:
                    self._schedule(now + self._interval, client_order_id)

    async def _check(self, followed: _Followed, now: datetime) -> None:
        order, venue = followed.order, followed.venue
        try:
            report = await venue.fetch_order(order.symbol, order.client_order_id, order.venue_order_id)
        except OrderNotFound:
            self._troubles.venue_ok(venue.name, "fetch_order", order.client_order_id)
            followed.not_found += 1
            if (order.status is S.SUBMITTED and followed.not_found >= self._lookup_attempts
                    and now >= followed.since + self._request_window):
                await self._absent(followed, now)
            return
        except VenueError as exc:
            # Not an answer: asked again at the next poll, reported once per episode.
            self._troubles.venue_failed(venue.name, "fetch_order", exc, order.client_order_id)
            return
        self._troubles.venue_ok(venue.name, "fetch_order", order.client_order_id)
        await self.sync(venue, order, report)
        if not order.status.is_working:
            return
        if order.status is S.CANCEL_PENDING:
            # The cancel went out and its answer was lost, and the venue still has the
            # order working: ask again now. Waiting for a timeout would never come for an
            # order exempt from it (a stop, an exit): it would stay CANCEL_PENDING for good.
            await self.cancel(venue, order, "the cancel's answer was lost: asking again")
            return
        if order.expires_at is not None and now >= order.expires_at:
            await self.cancel(venue, order, f"good-till-date {order.expires_at.isoformat()} "
                              f"passed: cancelling remainder {order.remaining_quantity}")
        elif (now >= followed.deadline and self._s.remainder_policy == "cancel"
              and not order.order_type.is_stop and not order.reduce_only):
            await self.cancel(venue, order, f"unfilled after {self._s.fill_timeout_s}s: "
                              f"cancelling remainder {order.remaining_quantity}")
            after: OrderStatus = order.status  # changed by the cancel (mypy narrowed it)
            if after.is_working and after is not S.CANCEL_PENDING:
                # The venue refused the cancel: ask again after another timeout, not per poll.
                followed.deadline = now + timedelta(seconds=self._s.fill_timeout_s)

    async def _absent(self, followed: _Followed, now: datetime) -> None:
        """The venue has said "not found" often enough, and no request of the order can
        still land: it never got the order."""
        handler, followed.on_absent = followed.on_absent, None
        if handler is None:
            self._ledger.transition(followed.order, S.FAILED, f"venue has no record of the order "
                                    f"after {followed.not_found} lookups")
            return
        followed.not_found, followed.since = 0, now
        await handler(followed.venue, followed.order)

    async def cancel(self, venue: VenueAdapter, order: Order, reason: str) -> None:
        """Ask the venue to cancel; safe to repeat. A finished order is left alone, a
        CANCEL_PENDING one asks again (the venue answers a cancel of a finished order with
        its final report), and the venue's answer, fills first, decides the end state:
        a fill that beat the cancel makes it FILLED, not CANCELLED."""
        if order.status.is_terminal:
            return
        if order.status is S.HELD:  # never sent: ours to cancel, final, no venue call
            self._ledger.transition(order, S.CANCELLED, f"{reason} (held by ordergate, never "
                                    "sent: cancelled locally)")
            return
        if order.status is not S.CANCEL_PENDING:
            self._ledger.transition(order, S.CANCEL_PENDING, reason)
        try:
            report = await venue.cancel_order(order.symbol, order.client_order_id, order.venue_order_id)
        except VenueError as exc:
            self._troubles.venue_failed(venue.name, "cancel_order", exc, order.client_order_id)
            if exc.retryable:
                return  # still CANCEL_PENDING: the next poll asks the venue what happened
            refusal = f"{type(exc).__name__}: {exc}"
        else:
            self._troubles.venue_ok(venue.name, "cancel_order", order.client_order_id)
            await self.sync(venue, order, report)
            if order.status is not S.CANCEL_PENDING or report.status.is_terminal:
                return
            refusal = "the venue answered the cancel with the order still working"
        # The venue answered, but not "cancelled". Asked directly (an answer to a cancel
        # can be stale), is the order still working? Then the cancel was refused.
        try:
            report = await venue.fetch_order(order.symbol, order.client_order_id,
                                             order.venue_order_id)
        except VenueError:
            return  # no answer: still CANCEL_PENDING, the next poll asks again
        await self.sync(venue, order, report)
        if order.status is S.CANCEL_PENDING and not report.status.is_terminal:
            self._ledger.cancel_refused(order, report, refusal)

    def _schedule(self, when: datetime, client_order_id: str) -> None:
        self._seq += 1
        heapq.heappush(self._due, (when, self._seq, client_order_id))

    def _check_slippage(self, order: Order) -> None:
        average, expected = order.average_price, order.expected_price
        if average is None or expected is None or expected == 0:
            return
        worse = (average - expected) if order.side is Side.BUY else (expected - average)
        slippage = worse / expected
        if slippage > self._s.slippage_tolerance:
            self._ledger.publish(SlippageExceeded(
                self._clock.now(), order.client_order_id, order.signal_id, expected, average,
                slippage, self._s.slippage_tolerance,
            ))

    @staticmethod
    def _summary(order: Order) -> str:
        average = order.average_price
        at = f" at average {average.normalize()}" if average is not None else ""
        return f"order {order.status}: filled {order.filled_quantity} of {order.quantity}{at}"
