"""The executor: turns an admitted signal into exactly one order at the venue.

1. Round to the instrument (quantity truncated to the lot, price to the tick in the
   trader's favour) and refuse what rounding leaves below the minimums.
2. Derive the client order ID from the signal and write the order to the journal before
   anything is sent. A signal seen before finds its order there and is not sent again.
   Where the venue's order ID is computable before the send (Polymarket), it is
   prepared now and journaled with the SUBMITTED transition, in the same commit that
   precedes the send, so a restart can look the order up by it (`prepare`).
3. Send, retrying retryable errors with jittered exponential backoff. After an
   *ambiguous* failure (timeout, dropped connection) the order is looked up by client
   order ID first, and resent (same ID) only when the venue has said, repeatedly, that it
   does not have it. If the venue cannot be asked, the order stays SUBMITTED and
   unresolved for the reconciler; it is never assumed failed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Protocol

from ordergate.clock import Clock
from ordergate.config import ExecutorSettings
from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.values import ZERO, OrderType
from ordergate.events import OrderUnresolved
from ordergate.pipeline.chain import SignalContext, Verdict
from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.pipeline.order_ledger import OrderLedger
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.pipeline.retry import RetryPacer
from ordergate.venues.base import (
    DuplicateClientOrderId,
    InsufficientFunds,
    OrderNotFound,
    OrderReport,
    OrderRequest,
    PostOnlyUnsupported,
    PostOnlyWouldTake,
    RateLimited,
    StopOrdersUnsupported,
    StopWouldTrigger,
    VenueAdapter,
    VenueError,
)


class Lookup(Enum):
    ABSENT = "absent"    # the venue said, every time we asked, that it has no such order
    UNKNOWN = "unknown"  # the venue could not be asked, or answered inconsistently


class StopHolder(Protocol):
    """Where the executor hands a stop the venue is not to get yet (the engine's
    `StopEmulator`, `pipeline/stop_emulator.py`)."""

    def holds(self, order: Order) -> bool:
        """Is `order` (PENDING, journaled) a stop to hold rather than send?"""
        ...

    def hold(self, order: Order, reason: str) -> None:
        """PENDING -> HELD, armed on the reference price; nothing is sent."""
        ...


class Executor:
    name = "executor"

    def __init__(self, settings: ExecutorSettings, ledger: OrderLedger, clock: Clock) -> None:
        self._s = settings
        self._ledger = ledger
        self._clock = clock
        self._pacer = RetryPacer(clock, settings.backoff_base_s, settings.backoff_cap_s,
                                 settings.jitter_seed)
        self.on_open: list[Callable[[SignalContext, Order], None]] = []
        """Told of each signal's order once it is journaled and before it is sent, so what
        must survive with it (a bracket's record, `algorithms/bracket_manager.py`) is in
        the same commit as the order, ahead of the send."""
        self.algorithm: Callable[[SignalContext, Decimal, Decimal | None, Decimal | None],
                                 Awaitable[Verdict]] | None = None
        """Carries out a signal with an `algorithm` (the engine's TWAP runner) instead of
        sending one order: given the rounded quantity, limit price and expected price."""
        self.holder: StopHolder | None = None
        """Holds the stops the venue does not take natively (emulated stops), instead of
        preparing and sending them; None: every stop is sent to its venue."""
        self.request_for: Callable[[Order], OrderRequest] = order_request
        """What is sent for an order: by default the order as it stands; the stop emulator
        makes a triggered emulated stop's request (the market or limit order it becomes)."""

    async def handle(self, ctx: SignalContext) -> Verdict:
        signal, instrument, venue = ctx.signal, ctx.instrument, ctx.venue
        assert instrument is not None and venue is not None
        quantity = instrument.round_quantity(ctx.quantity or signal.quantity or ZERO)
        if problem := instrument.quantity_problem(quantity):
            return Verdict.deny(R.BELOW_MIN_QUANTITY, f"after rounding to lot {instrument.lot_size}: {problem}")
        price = trigger = None
        if signal.order_type.has_limit_price:
            assert signal.limit_price is not None
            price = instrument.round_price(signal.limit_price, signal.side)
        if signal.order_type.is_stop:
            assert signal.trigger_price is not None  # the validator refused a stop without
            # Away from the market (a buy stop's up, a sell stop's down): never a trigger
            # nearer than asked, which could fire earlier, or at once.
            trigger = instrument.round_price(signal.trigger_price, signal.side.opposite)
        # What the order is expected to execute at: its limit price, a stop_market's
        # trigger, or a market order's reference. Its notional is checked there, and
        # exposure counts a working order's notional at it.
        expected = (price if price is not None else trigger if trigger is not None
                    else ctx.reference_price)
        if expected is not None and (problem := instrument.notional_problem(quantity, expected)):
            return Verdict.deny(R.BELOW_MIN_NOTIONAL, problem)
        if signal.algorithm is not None:
            if self.algorithm is None:
                return Verdict.deny(R.ALGORITHM_CONFLICT, "algorithm: no runner for "
                                    f"{signal.algorithm.name} in this pipeline")
            return await self.algorithm(ctx, quantity, price, expected)

        order = Order(
            client_order_id_for(signal.strategy_id, signal.account_id, signal.signal_id),
            signal.signal_id, signal.strategy_id, signal.account_id, signal.venue, signal.symbol,
            signal.side, signal.order_type, quantity, price, signal.time_in_force,
            self._clock.now(), expected_price=expected, expires_at=signal.expires_at,
            post_only=signal.post_only, trigger_price=trigger,
        )
        ledger = self._ledger
        if not ledger.open(order):
            status = ledger.journal.order_status(order.client_order_id)
            return Verdict.deny(
                R.DUPLICATE_SIGNAL,
                f"order {order.client_order_id} for this signal already exists ({status}); not sent again",
            )
        ctx.order = order
        for opened in self.on_open:
            opened(ctx, order)
        if trigger is not None and self.hold(  # a stop only: no string built per order
                order, f"held by ordergate until the price reaches {trigger}, then "
                f"{quantity} {signal.symbol} sent"):
            return Verdict.admit(f"order {order.client_order_id} held: an emulated stop, sent "
                                 f"when the price reaches {trigger}")
        if not await self.prepare(venue, order):
            return Verdict.admit(f"order {order.client_order_id} not sent: {order.status}")
        ledger.transition(order, OrderStatus.SUBMITTED, f"sending {quantity} {signal.symbol}"
                          + (f" @ {price}" if price is not None else " at market")
                          + (f" once the price reaches {trigger}" if trigger is not None else ""))
        await ledger.commit_before_send()
        ctx.report = await self.submit(venue, order)
        return Verdict.admit(f"order {order.client_order_id} sent: {order.status}")

    async def prepare(self, venue: VenueAdapter, order: Order) -> bool:
        """Ask the venue adapter for the order's venue ID before it is sent (None where the
        venue assigns it on acceptance) and keep it on the order: the SUBMITTED transition
        journals it, so the commit before the send carries it and a restart can find the
        order by it. Preparing only reads, so every failure is unambiguous: a retryable
        one is retried like a send (same backoff, attempts and deadline); a fatal one, or
        retries running out, leaves the order FAILED, never sent. False then.

        An order about to be held (an emulated stop, still PENDING) is not prepared: it is
        prepared when it triggers, as the order it then becomes."""
        if order.status is OrderStatus.PENDING and self.holder is not None \
                and self.holder.holds(order):
            return True
        request = self.request_for(order)
        delays: Iterator[float] | None = None  # the retry schedule, made on the first failure
        deadline = self._clock.now().timestamp() + self._s.submit_deadline_s
        last_error = "no attempt made"
        for attempt in range(1, self._s.max_attempts + 1):
            try:
                order.venue_order_id = await venue.prepare_order(request)
                return True
            except VenueError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                reason, code = _rejection(exc, last_error)
                if code:  # a coded refusal while preparing (a venue without stop orders)
                    self._ledger.transition(order, OrderStatus.FAILED, reason, code)
                    return False
                if not exc.retryable or attempt == self._s.max_attempts:
                    break
                delays = delays or self._pacer.delays()
                if late := await self._wait_to_retry(exc, delays, deadline):
                    last_error += late
                    break
        self._ledger.transition(order, OrderStatus.FAILED, "not sent: the order could not be "
                                f"prepared after {attempt} attempt(s): {last_error}")
        return False

    async def submit(self, venue: VenueAdapter, order: Order) -> OrderReport | None:
        """Send a journaled SUBMITTED order; return the venue's report, or None when the
        order was rejected, failed, or is unresolved (its status says which)."""
        request = self.request_for(order)
        clock, delays = self._clock, self._pacer.delays()
        deadline = clock.now().timestamp() + self._s.submit_deadline_s
        last_error = "no attempt made"
        for attempt in range(1, self._s.max_attempts + 1):
            sent_at = clock.now()
            try:
                return await venue.place_order(request)
            except DuplicateClientOrderId:
                return await self._adopt_or_park(venue, order, "venue already has this client order ID")
            except VenueError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                if not exc.retryable:
                    reason, code = _rejection(exc, last_error)
                    self._ledger.transition(order, OrderStatus.REJECTED, reason, code)
                    return None
                if exc.ambiguous:
                    found = await self.lookup(venue, order)
                    if isinstance(found, OrderReport):
                        return found
                    if found is Lookup.ABSENT:
                        found = await self._last_look(venue, order, sent_at)
                    if isinstance(found, OrderReport):
                        return found
                    if found is Lookup.UNKNOWN:
                        self._park(order, f"{last_error}; the venue could not confirm the order")
                        return None
                    # ABSENT past the venue's request window: it never got it; resend.
                if attempt == self._s.max_attempts:
                    break
                if late := await self._wait_to_retry(exc, delays, deadline):
                    last_error += late
                    break
        self._ledger.transition(
            order, OrderStatus.FAILED, f"not accepted after {attempt} attempt(s): {last_error}"
        )
        return None

    def hold(self, order: Order, reason: str) -> bool:
        """Hold `order` instead of sending it, if it is a stop to emulate: True then (it is
        HELD, nothing was sent)."""
        if self.holder is None or not self.holder.holds(order):
            return False
        self.holder.hold(order, reason)
        return True

    async def _wait_to_retry(self, exc: VenueError, delays: Iterator[float],
                             deadline: float) -> str | None:
        """Wait the backoff (or the venue's Retry-After, if longer) before the next try;
        or, when that try would come after `deadline`, do not wait and say so."""
        retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
        wait = max(next(delays), retry_after or 0.0)
        if self._clock.now().timestamp() + wait > deadline:
            return f"; the next try (in {wait:.1f}s) would pass the submit deadline"
        await self._clock.sleep(wait)
        return None

    async def lookup(self, venue: VenueAdapter, order: Order) -> OrderReport | Lookup:
        """Ask the venue for the order by client order ID, a bounded number of times.
        Only an explicit "not found" on every attempt counts as absent."""
        delays = self._pacer.delays()
        absent = 0
        for attempt in range(self._s.lookup_attempts):
            if attempt:
                await self._pacer.pause(delays)
            try:
                return await venue.fetch_order(order.symbol, order.client_order_id, order.venue_order_id)
            except OrderNotFound:
                absent += 1
            except VenueError:
                continue
        return Lookup.ABSENT if absent == self._s.lookup_attempts else Lookup.UNKNOWN

    async def _last_look(self, venue: VenueAdapter, order: Order,
                         sent_at: datetime) -> OrderReport | Lookup:
        """Wait out the venue's request window, then ask once more: a request delayed in
        transit can still execute until then."""
        window = self._s.resend_after_s + self._s.clock_skew_margin_s
        settle = window - (self._clock.now() - sent_at).total_seconds()
        if settle <= 0:
            return Lookup.ABSENT
        await self._clock.sleep(settle)
        try:
            return await venue.fetch_order(order.symbol, order.client_order_id, order.venue_order_id)
        except OrderNotFound:
            return Lookup.ABSENT
        except VenueError:
            return Lookup.UNKNOWN

    async def _adopt_or_park(self, venue: VenueAdapter, order: Order, why: str) -> OrderReport | None:
        found = await self.lookup(venue, order)
        if isinstance(found, OrderReport):
            return found
        self._park(order, f"{why}, but it could not be looked up")
        return None

    def _park(self, order: Order, reason: str) -> None:
        self._ledger.publish(OrderUnresolved(self._clock.now(), order.client_order_id, order.signal_id, reason))


def order_request(order: Order) -> OrderRequest:
    """The request for `order` as it stands (a stop with its trigger; a native replace
    sends its replacement so)."""
    return OrderRequest(order.client_order_id, order.account_id, order.symbol, order.side,
                        order.order_type, order.quantity, order.price, order.time_in_force,
                        order.expires_at, order.venue_order_id, order.post_only,
                        order.trigger_price)


def _rejection(exc: VenueError, error: str) -> tuple[str, str]:
    """The REJECTED transition's reason and reason code ("" when the refusal has none).
    A coded reason also leads with its code (`POST_ONLY_WOULD_TAKE: ...`): the journal
    keeps reasons, not codes, and the API's order view shows its transitions."""
    if isinstance(exc, PostOnlyWouldTake):
        return (f"{R.POST_ONLY_WOULD_TAKE}: the post-only order would have taken liquidity; "
                f"the venue refused it, nothing filled, not resent: {error}",
                R.POST_ONLY_WOULD_TAKE)
    if isinstance(exc, PostOnlyUnsupported):
        return (f"{R.POST_ONLY_UNSUPPORTED}: refused before sending: {error}",
                R.POST_ONLY_UNSUPPORTED)
    if isinstance(exc, StopWouldTrigger):
        return (f"{R.STOP_WOULD_TRIGGER}: the market had already crossed the stop's trigger; "
                f"the venue refused it, nothing filled, not resent: {error}",
                R.STOP_WOULD_TRIGGER)
    if isinstance(exc, StopOrdersUnsupported):
        return (f"{R.STOP_ORDERS_UNSUPPORTED}: refused before sending: {error}",
                R.STOP_ORDERS_UNSUPPORTED)
    if isinstance(exc, InsufficientFunds):  # a block's child fails over on it (`allocation`)
        return f"{R.INSUFFICIENT_FUNDS}: venue rejected: {error}", R.INSUFFICIENT_FUNDS
    return f"venue rejected: {error}", ""
