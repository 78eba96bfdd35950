"""`ChaosVenue`: a venue whose report feed misbehaves the way real ones do, on demand.

It wraps any `VenueAdapter` (in the tests, a `SimulatedVenue` with its own `FaultPlan`)
and is one itself. The simulated venue's faults make *calls* fail (timeouts, 5xx, 429,
rejects, outages); the chaos here distorts what a call that succeeded *says*, or what
became of a request: duplicate, reordered and lagging fills, stale reports, a status
behind its fills, an order invisible to lookups for a moment, a reply lost, a request
delayed or lost in transit, the process killed either side of a send. Each kind, and the
calls it can strike, is in `chaos_kinds.py`.

The venue's native atomic replace (`Replaceable`) and OCO lists (`OcoCapable`) are passed
through when, and only when, the inner venue has them (`supports_replace`,
`supports_oco` ask it), so the native amend and bracket paths meet the same chaos as a
placement: operation "replace" (`LOST_IN_TRANSIT`, `REPLY_LOST` as `ReplaceAmbiguous`,
`DELAYED_SEND`, `NOT_FOUND_YET` for the replacement, the two crashes) and "place_oco"
(the same, `NOT_FOUND_YET` hiding both legs). Those are the faults whose answer is "look
the legs up by client order ID before anything else": a lost answer finds them, a lost or
delayed request does not (yet), and a resend then would be a second order. Each replace
and each leg of a list is recorded in `sent` as a placement is.

And, aimed at one order (`contradict(client_order_id)`): the next report of it (a lookup
or a cancel's answer) says REJECTED while the venue has it working: a venue contradicting
what it said before, which the transition table does not allow (ACCEPTED -> REJECTED).

Each queued chaos applies to the next call of its operation, like `FaultPlan`. Requests
in transit are delivered when any call is made at or after their time, or by
`deliver_due()` (a test calls it when it lets time pass).

Every `place_order` that reaches this adapter is recorded in `sent`, with the moment
and whatever `context(request)` returns then (the tests record the circuit breaker's
state, the trading state and the journal's row, to prove nothing left while either
forbade it and nothing left before it was journaled). `sends` (`send_log.py`) keeps each
request, each unambiguous refusal and each "not found" lookup by client order ID in
order, to prove nothing was sent again without one of the last two in between.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from ordergate.clock import Clock
from ordergate.domain.instrument import Instrument
from ordergate.domain.order import OrderStatus
from ordergate.domain.values import ZERO
from ordergate.venues.base import (
    Balance,
    OcoRequest,
    OcoUnsupported,
    OrderNotFound,
    OrderReport,
    OrderRequest,
    ReplaceAmbiguous,
    ReplaceReport,
    ReplaceUnsupported,
    Ticker,
    TradeReport,
    VenueAdapter,
    VenueError,
    VenueHealth,
    VenueTimeout,
    oco_capable,
    replaceable,
)
from ordergate.testing.chaos_kinds import APPLIES_TO, Chaos
from ordergate.testing.send_log import Seen, SendLog
from ordergate.venues.sim_oco import leg_requests

__all__ = ["APPLIES_TO", "Chaos", "ChaosVenue", "ProcessKilled", "SentOrder"]

S = OrderStatus
T = TypeVar("T")


class ProcessKilled(BaseException):
    """The process died here (kill -9, power cut). A `BaseException` so that no
    `except Exception` on the way out can swallow it: the test abandons the engine."""


@dataclass(frozen=True, slots=True)
class SentOrder:
    """One `place_order` that reached the venue's side of the guards."""

    request: OrderRequest
    ts: datetime
    context: Mapping[str, object]


class ChaosVenue:
    def __init__(self, inner: VenueAdapter, clock: Clock,
                 context: Callable[[OrderRequest], Mapping[str, object]] | None = None,
                 delay_s: float = 8.0, visibility_lag_s: float = 3.0) -> None:
        self.inner = inner
        self.name = inner.name
        self.delay_s = delay_s
        """How long a `DELAYED_SEND` request is in transit."""
        self.visibility_lag_s = visibility_lag_s
        """How long a `NOT_FOUND_YET` order stays invisible to queries."""
        self.invisible_until: dict[str, datetime] = {}
        """Client order ID -> when queries start to see it (`NOT_FOUND_YET`)."""
        self.context = context
        """Called at every `place_order`; its answer is kept in `sent`."""
        self.sent: list[SentOrder] = []
        self.sends = SendLog()
        """Every request and lookup by client order ID, in order: what a resend followed."""
        self.distorted: list[tuple[datetime, str, Chaos]] = []
        """(when, client order ID, chaos) for every report served distorted."""
        self.contradictions: set[str] = set()
        """Client order IDs whose next report is a REJECTED the venue does not mean."""
        self.contradicted: list[tuple[datetime, str]] = []
        """(when, client order ID) for every contradiction served."""
        self.struck: Counter[tuple[str, Chaos]] = Counter()
        """How often each (operation, chaos) was applied: what a run really exercised."""
        self._clock = clock
        self._queued: dict[str, deque[Chaos]] = {}
        self._first_report: dict[str, OrderReport] = {}
        self._in_transit: list[tuple[datetime, Callable[[], Awaitable[object]]]] = []
        """(when the venue gets it, the call that delivers it) per delayed request."""

    # ------------------------------------------------------------------ the plan

    def inject(self, operation: str, chaos: Chaos, times: int = 1) -> None:
        if operation not in APPLIES_TO[chaos]:
            raise ValueError(f"{chaos} does not apply to {operation}; "
                             f"it applies to {sorted(APPLIES_TO[chaos])}")
        self._queued.setdefault(operation, deque()).extend([chaos] * times)

    def contradict(self, client_order_id: str) -> None:
        """The next report of this order says REJECTED, if the venue has it working."""
        self.contradictions.add(client_order_id)

    def clear(self) -> None:
        """Forget the queued chaos. Requests already in transit still arrive."""
        self._queued.clear()
        self.contradictions.clear()

    @property
    def in_transit(self) -> int:
        return len(self._in_transit)

    async def deliver_due(self) -> None:
        """Hand the venue every delayed request whose time has come, oldest first. Nobody
        hears the venue's answer: the caller timed out long ago."""
        now = self._clock.now()
        due = [item for item in self._in_transit if item[0] <= now]
        if not due:
            return
        self._in_transit = [item for item in self._in_transit if item[0] > now]
        for _, deliver in due:
            try:
                await deliver()
            except VenueError:
                pass

    def _next(self, operation: str) -> Chaos | None:
        queue = self._queued.get(operation)
        if not queue:
            return None
        chaos = queue.popleft()
        self.struck[operation, chaos] += 1
        return chaos

    # ------------------------------------------------------------------ VenueAdapter

    async def load_instruments(self) -> dict[str, Instrument]:
        await self.deliver_due()
        return await self.inner.load_instruments()

    async def prepare_order(self, request: OrderRequest) -> str | None:
        """Passed through undistorted: it sends nothing, so no chaos here can model a
        venue's lie."""
        return await self.inner.prepare_order(request)

    async def place_order(self, request: OrderRequest) -> OrderReport:
        await self.deliver_due()
        self._record(request)
        chaos = self._next("place")
        self._before_send(chaos, lambda: self.inner.place_order(request),
                          request.client_order_id, VenueTimeout)
        report = await self._refusal_noted(self.inner.place_order(request),
                                           [request.client_order_id])
        if chaos in (Chaos.CRASH_AFTER_SEND, Chaos.NOT_FOUND_YET):
            self._after_send(chaos, [request.client_order_id], VenueTimeout)
            return report
        return self._distort(chaos, report, "place")

    def supports_replace(self) -> bool:
        """The inner venue's native replace, through this chaos (`base.Replaceable`)."""
        return replaceable(self.inner) is not None

    async def replace_order(self, old_client_order_id: str, old_venue_order_id: str | None,
                            request: OrderRequest) -> ReplaceReport:
        """The atomic replace, its new order recorded in `sent` like a placement. The
        faults are those of a placement: whichever hits, the caller cannot tell whether
        the old order was cancelled and the new one placed (`ReplaceAmbiguous`)."""
        inner = replaceable(self.inner)
        if inner is None:
            raise ReplaceUnsupported(f"{self.name}: the venue has no native replace")
        await self.deliver_due()
        self._record(request)
        chaos = self._next("replace")
        cid = request.client_order_id

        async def send() -> ReplaceReport:
            return await self._refusal_noted(
                inner.replace_order(old_client_order_id, old_venue_order_id, request), [cid])

        self._before_send(chaos, send, cid, ReplaceAmbiguous)
        report = await send()
        self._after_send(chaos, [cid], ReplaceAmbiguous)
        return report

    def supports_oco(self) -> bool:
        """The inner venue's native OCO lists, through this chaos (`base.OcoCapable`)."""
        return oco_capable(self.inner) is not None

    async def place_oco(self, request: OcoRequest) -> list[OrderReport]:
        """The list, each leg recorded in `sent` like a placement; a fault hits the list
        whole (both legs happened, or neither), as the venue takes it in one request."""
        inner = oco_capable(self.inner)
        if inner is None:
            raise OcoUnsupported(f"{self.name}: the venue has no native OCO lists; not sent")
        await self.deliver_due()
        legs = leg_requests(request)
        for leg in legs:
            self._record(leg)
        chaos = self._next("place_oco")

        async def send() -> list[OrderReport]:
            return await self._refusal_noted(inner.place_oco(request),
                                             [leg.client_order_id for leg in legs])

        self._before_send(chaos, send, request.list_client_order_id, VenueTimeout)
        reports = await send()
        self._after_send(chaos, [leg.client_order_id for leg in legs], VenueTimeout)
        return reports

    def _record(self, request: OrderRequest) -> None:
        context = dict(self.context(request)) if self.context is not None else {}
        self.sent.append(SentOrder(request, self._clock.now(), context))
        self.sends.record(Seen.SENT, request.client_order_id)

    async def _refusal_noted(self, call: Awaitable[T], client_order_ids: list[str]) -> T:
        """The inner venue's answer; a refusal that is not ambiguous is noted in `sends`
        (the venue does not have the order, so a resend is no second order)."""
        try:
            return await call
        except VenueError as exc:
            if not exc.ambiguous:
                for cid in client_order_ids:
                    self.sends.record(Seen.REFUSED, cid)
            raise

    def _hold(self, deliver: Callable[[], Awaitable[object]]) -> None:
        self._in_transit.append((self._clock.now() + timedelta(seconds=self.delay_s), deliver))

    def _before_send(self, chaos: Chaos | None, send: Callable[[], Awaitable[object]],
                     what: str, timeout: type[VenueTimeout]) -> None:
        """The chaos that strikes before the request reaches the venue."""
        if chaos is Chaos.CRASH_BEFORE_SEND:
            raise ProcessKilled(f"killed before {what} left")
        if chaos is Chaos.DELAYED_SEND:
            self._hold(send)
            raise timeout(f"chaos: {what} held up in transit")
        if chaos is Chaos.LOST_IN_TRANSIT:
            raise timeout(f"chaos: {what} lost before the venue")

    def _after_send(self, chaos: Chaos | None, client_order_ids: list[str],
                    timeout: type[VenueTimeout]) -> None:
        """The chaos that strikes once the venue has carried the request out."""
        if chaos is Chaos.CRASH_AFTER_SEND:
            raise ProcessKilled(f"killed after the venue took {', '.join(client_order_ids)}")
        if chaos is Chaos.REPLY_LOST:
            raise timeout(f"chaos: the venue took {', '.join(client_order_ids)}, the reply "
                          "was lost")
        if chaos is Chaos.NOT_FOUND_YET:
            until = self._clock.now() + timedelta(seconds=self.visibility_lag_s)
            for cid in client_order_ids:
                self.invisible_until[cid] = until

    async def cancel_order(self, symbol: str, client_order_id: str,
                           venue_order_id: str | None = None) -> OrderReport:
        await self.deliver_due()
        chaos = self._next("cancel")
        report = await self.inner.cancel_order(symbol, client_order_id, venue_order_id)
        return self._distort(chaos, report, "cancel")

    async def fetch_order(self, symbol: str, client_order_id: str,
                          venue_order_id: str | None = None) -> OrderReport:
        await self.deliver_due()
        chaos = self._next("fetch_order")
        try:
            report = await self.inner.fetch_order(symbol, client_order_id, venue_order_id)
        except OrderNotFound:
            self.sends.record(Seen.ABSENT, client_order_id)
            raise
        if self._invisible(client_order_id):
            self.sends.record(Seen.ABSENT, client_order_id)
            raise OrderNotFound(f"chaos: {client_order_id} not visible to lookups yet")
        return self._distort(chaos, report, "fetch_order")

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        await self.deliver_due()
        reports = await self.inner.fetch_open_orders(symbol)
        return [r for r in reports if not self._invisible(r.client_order_id)]

    async def fetch_fills(self, symbol: str, client_order_id: str,
                          venue_order_id: str | None = None) -> list[TradeReport]:
        await self.deliver_due()
        chaos = self._next("fetch_fills")
        trades = await self.inner.fetch_fills(symbol, client_order_id, venue_order_id)
        if chaos is Chaos.DUPLICATE_FILLS:
            return [t for trade in trades for t in (trade, trade)]
        if chaos is Chaos.REORDERED_FILLS:
            return trades[::-1]
        if chaos is Chaos.LAGGING_FILLS:
            return trades[:-1]
        if chaos is Chaos.REPLY_LOST:
            raise VenueTimeout("chaos: fetch_fills answered, the reply was lost")
        return trades

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        await self.deliver_due()
        return await self.inner.fetch_balances(account_id)

    async def fetch_ticker(self, symbol: str) -> Ticker:
        await self.deliver_due()
        return await self.inner.fetch_ticker(symbol)

    async def health(self) -> VenueHealth:
        return await self.inner.health()

    async def close(self) -> None:
        await self.inner.close()

    # ------------------------------------------------------------------ distortions

    def _invisible(self, client_order_id: str) -> bool:
        until = self.invisible_until.get(client_order_id)
        return until is not None and self._clock.now() < until

    def _distort(self, chaos: Chaos | None, report: OrderReport, operation: str) -> OrderReport:
        first = self._first_report.setdefault(report.client_order_id, report)
        if report.client_order_id in self.contradictions and not report.status.is_terminal:
            self.contradictions.discard(report.client_order_id)
            self.contradicted.append((self._clock.now(), report.client_order_id))
            return dataclasses.replace(report, status=S.REJECTED,
                                       reason="chaos: rejected, says the venue, of a working order")
        if chaos is None:
            return report
        if chaos is Chaos.REPLY_LOST:
            raise VenueTimeout(f"chaos: {operation} took effect, the reply was lost")
        self.distorted.append((self._clock.now(), report.client_order_id, chaos))
        if chaos is Chaos.STALE_REPORT:
            return first if first is not report else _acknowledgement(report)
        if chaos is Chaos.STATUS_LAGS_FILLS and report.filled_quantity > 0 and report.status in (
                S.PARTIALLY_FILLED, S.FILLED):
            return dataclasses.replace(report, status=S.ACCEPTED)
        return report


def _acknowledgement(report: OrderReport) -> OrderReport:
    """The order as the venue first acknowledged it: working, nothing filled."""
    if report.status is S.REJECTED:
        return report
    return dataclasses.replace(
        report, status=S.ACCEPTED, filled_quantity=ZERO,
        remaining_quantity=report.filled_quantity + report.remaining_quantity,
        average_price=None)
