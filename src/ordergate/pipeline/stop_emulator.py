"""`StopEmulator`: stop orders on venues that have none, held by ordergate until they trigger.

A venue's `stops` setting decides (`native`, `emulated`, or `auto`: emulated where the
adapter declares no native stops, `venues/capabilities.py`: Polymarket's CLOB, a ccxt
exchange whose features list no trigger price). An emulated stop is journaled like any
order and moved PENDING -> HELD instead of being sent: it is ordergate's, at no venue.
It counts as exposure, as an open order and as a bracket's working exit; nothing polls a
venue for it, no fill timeout applies, and cancelling it is local and final.

The trigger rule, the simulated venue's and the exchanges': at every engine tick the
venue's ticker is read once per symbol with held stops, and
- a buy stop triggers when the ask is at or above its trigger;
- a sell stop triggers when the bid is at or below its trigger.
The touch is what the order would execute against, so a stop never fires on a mid the
book cannot fill at. A stop triggers once: it leaves the armed set before anything is
awaited, so two quotes past the trigger send one order.

Triggered, it is sent under its own client order ID (never sent before, so exactly-once
holds), through the executor's normal prepare and send (journal before send, lookup after
a timeout, the venue's answer applied, then followed): a stop_limit as a limit at its
`price`, a stop_market as a market order, or, on a venue without market orders
(Polymarket), as an IOC limit `stops.market_protection` beyond the trigger. The journal's
HELD -> SUBMITTED transition and a `stop_triggered` audit line say at what trigger, on
which touch and when. The order keeps its stop type in the journal: what is sent is
derived again from it (`request_for`), so a restart sends the same thing.

The kill switch, as the risk manager treats new orders: a triggered stop that is not
reduce-only is refused under HALTED (TRADING_HALTED), and under REDUCING when it would
grow or flip the position (REDUCE_ONLY): cancelled locally, final, as a stop fired later
would execute at a price nobody asked for. A reduce-only stop (a bracket's stop-loss)
still triggers while HALTED when `brackets.exits_when_halted` (the default); with it off
it waits, held, and triggers once trading resumes if its price is still crossed.

Limits: a held stop is only as fast as the engine's price feed (one ticker read per
symbol per tick, `reconciler.poll_interval_s` live); a price that crosses and comes back
between two reads does not trigger it, and it executes at the touch of the read that
saw it crossed, not at the trigger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Literal

from ordergate.bus import EventBus
from ordergate.clock import Clock
from ordergate.config import BracketSettings, StopSettings
from ordergate.domain.instrument import Instrument
from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.values import (
    OrderType, Side, StopOutcome, TimeInForce, TradingState,
)
from ordergate.events import StopTriggered, TradingStateChanged
from ordergate.pipeline.derived_send import send_derived
from ordergate.pipeline.execute import Executor, order_request
from ordergate.pipeline.order_ledger import OrderLedger
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.pipeline.reconcile import Reconciler
from ordergate.pipeline.risk import beyond_reduce_only
from ordergate.supervision import RAISE_TROUBLES, Troubles
from ordergate.venues.base import NoQuote, OrderRequest, Ticker, VenueAdapter, VenueError
from ordergate.venues.capabilities import market_orders, native_stop_orders

S = OrderStatus
StopMode = Literal["native", "emulated", "auto"]


def crossed(order: Order, ticker: Ticker) -> Decimal | None:
    """The touch that triggers `order` (a buy stop's ask at or above its trigger, a sell
    stop's bid at or below it), or None while it is not reached."""
    trigger = order.trigger_price
    assert trigger is not None  # a stop always has one (the validator refuses one without)
    if order.side is Side.BUY:
        return ticker.ask if ticker.ask >= trigger else None
    return ticker.bid if ticker.bid <= trigger else None


def triggered_request(order: Order, *, takes_market: bool, protection: Decimal,
                      instrument: Instrument | None) -> OrderRequest:
    """What a triggered emulated stop is sent as: a stop_limit as a limit at its price; a
    stop_market at market, or where the venue has no market orders as an IOC limit
    `protection` beyond the trigger (rounded to the tick, kept within the instrument's
    prices). Derived from the order alone, so it is the same after a restart."""
    request = order_request(order)
    if order.order_type is OrderType.STOP_LIMIT:
        return replace(request, order_type=OrderType.LIMIT, trigger_price=None, post_only=False)
    if takes_market:
        return replace(request, order_type=OrderType.MARKET, price=None, trigger_price=None,
                       post_only=False)
    trigger = order.trigger_price
    assert trigger is not None
    factor = 1 + protection if order.side is Side.BUY else 1 - protection
    price = trigger * factor
    if instrument is not None:
        # Away from the trigger, so the band is never narrower than configured.
        price = instrument.round_price(price, order.side.opposite)
        price = max(price, instrument.min_price or instrument.tick_size)
        if instrument.max_price is not None:
            price = min(price, instrument.max_price)
    return replace(request, order_type=OrderType.LIMIT, price=price, trigger_price=None,
                   time_in_force=TimeInForce.IOC, expires_at=None, post_only=False)


class StopEmulator:
    """Holds the stops of venues that emulate them, and sends each when it triggers."""

    def __init__(self, modes: Mapping[str, StopMode], settings: StopSettings,
                 brackets: BracketSettings, ledger: OrderLedger, executor: Executor,
                 reconciler: Reconciler, bus: EventBus, clock: Clock,
                 venues: Mapping[str, VenueAdapter],
                 instrument: Callable[[str, str], Instrument | None],
                 trading_state: Callable[[], TradingState],
                 position: Callable[[str, str, str], Decimal],
                 troubles: Troubles | None = None,
                 on_exit_refused: Callable[[Order], None] | None = None) -> None:
        self._modes, self._s, self._brackets = modes, settings, brackets
        self._ledger, self._executor, self._reconciler = ledger, executor, reconciler
        self._bus, self._clock, self._venues = bus, clock, venues
        self._instrument, self._trading_state, self._position = instrument, trading_state, position
        self._troubles = troubles or RAISE_TROUBLES
        self._on_exit_refused = on_exit_refused
        self._emulates: dict[str, bool] = {}
        self._armed: dict[str, Order] = {}  # client order ID -> HELD order, in arming order
        self._waiting: set[str] = set()  # reduce-only stops told they wait (HALTED)
        executor.holder = self
        executor.request_for = self.request_for
        bus.subscribe(TradingStateChanged, lambda _: self._waiting.clear())

    # ------------------------------------------------------------------ reading

    @property
    def armed_count(self) -> int:
        return len(self._armed)

    def emulates(self, venue: str) -> bool:
        """Are stops at `venue` held by ordergate (its `stops` mode, `auto` asking the
        adapter whether it has native ones)?"""
        known = self._emulates.get(venue)
        if known is None:
            mode = self._modes.get(venue, "auto")
            adapter = self._venues.get(venue)
            known = mode == "emulated" or (
                mode == "auto" and adapter is not None and not native_stop_orders(adapter))
            self._emulates[venue] = known
        return known

    def holds(self, order: Order) -> bool:
        return (order.status is S.PENDING and order.order_type.is_stop
                and self.emulates(order.venue))

    def request_for(self, order: Order) -> OrderRequest:
        """The request for `order`: a stop its venue emulates goes out as what it becomes
        once triggered; every other order as it stands. A stop held here is sent as
        emulated even if its venue's mode has changed since (a restart with new config)."""
        if not order.order_type.is_stop:
            return order_request(order)
        held = order.status is S.HELD or any(t.from_status is S.HELD for t in order.transitions)
        if not held and not self.emulates(order.venue):
            return order_request(order)
        venue = self._venues.get(order.venue)
        return triggered_request(
            order, takes_market=venue is None or market_orders(venue),
            protection=self._s.market_protection,
            instrument=self._instrument(order.venue, order.symbol))

    # ------------------------------------------------------------------ holding

    def hold(self, order: Order, reason: str) -> None:
        mode = self._modes.get(order.venue, "auto")
        why = ("stops emulated by config" if mode == "emulated"
               else f"{order.venue} has no native stop orders")
        self._ledger.transition(order, S.HELD, f"{reason} ({why}; not at the venue)")
        self._armed[order.client_order_id] = order

    def restore(self) -> int:
        """At start, after recovery adopted the journal's unfinished orders: arm every
        HELD one again. None is sent without its trigger, none looked up at a venue."""
        for order in self._ledger.live_orders():
            if order.status is S.HELD:
                self._armed[order.client_order_id] = order
        return len(self._armed)

    # ------------------------------------------------------------------ the tick

    async def check_triggers(self) -> None:
        """Expire, then trigger, the held stops: one ticker read per (venue, symbol)."""
        if not self._armed:
            return
        now = self._clock.now()
        groups: dict[tuple[str, str], list[Order]] = {}
        for cid, order in list(self._armed.items()):
            if order.status is not S.HELD:  # cancelled (locally) since, or sent
                del self._armed[cid]
                self._waiting.discard(cid)
            elif order.expires_at is not None and now >= order.expires_at:
                del self._armed[cid]
                self._ledger.transition(order, S.EXPIRED, f"good-till-date "
                                        f"{order.expires_at.isoformat()} passed while held: "
                                        "never triggered, never sent")
            else:
                groups.setdefault((order.venue, order.symbol), []).append(order)
        for (name, symbol), orders in groups.items():
            venue = self._venues.get(name)
            if venue is None:
                continue
            try:
                ticker = await venue.fetch_ticker(symbol)
            except NoQuote:
                continue  # a side of the book is empty: nothing to trigger on, nothing wrong
            except VenueError as exc:
                self._troubles.venue_failed(name, "fetch_ticker", exc, symbol)
                continue
            self._troubles.venue_ok(name, "fetch_ticker", symbol)
            for order in orders:
                touch = crossed(order, ticker)
                if touch is not None and order.status is S.HELD:
                    await self._triggered(venue, order, touch, ticker)

    async def _triggered(self, venue: VenueAdapter, order: Order, touch: Decimal,
                         ticker: Ticker) -> None:
        cid = order.client_order_id
        side_touch = "ask" if order.side is Side.BUY else "bid"
        at = (f"triggered at {order.trigger_price} ({side_touch} {touch} at "
              f"{ticker.ts.isoformat()})")
        refusal = self._refusal(order)
        if refusal == "wait":
            if cid not in self._waiting:
                self._waiting.add(cid)
                self._event(order, touch, ticker, StopOutcome.WAITING, None,
                            f"{at}; trading state is HALTED and brackets.exits_when_halted is "
                            "off: held, it triggers once trading resumes if its price is "
                            "still crossed")
            return
        del self._armed[cid]  # before any await: one trigger, one send
        self._waiting.discard(cid)
        if refusal is not None:
            code, why = refusal
            reason = f"{code}: {at}, not sent: {why}"
            self._event(order, touch, ticker, StopOutcome.REFUSED, None, reason, code)
            self._ledger.transition(order, S.CANCELLED, reason, code)
            return
        if order.reduce_only and not await self._siblings_cleared(venue, order, at):
            return
        request = self.request_for(order)
        if not await self._executor.prepare(venue, order):
            self._exit_refused(order)
            return  # FAILED, with the reason (audited as its transition)
        if order.status is not S.HELD:  # cancelled while it was being prepared
            return
        how = (f"a limit at {request.price} ({request.time_in_force})"
               if request.order_type is OrderType.LIMIT else "a market order")
        self._event(order, touch, ticker, StopOutcome.SENT, request.order_type,
                    f"{at}: sent as {how}", price=request.price)
        await send_derived(self._ledger, self._executor, self._reconciler, venue, order,
                           f"{at}: sending {order.remaining_quantity} {order.symbol} as {how}")
        if order.status in (S.REJECTED, S.FAILED):
            self._exit_refused(order)

    async def _siblings_cleared(self, venue: VenueAdapter, order: Order, at: str) -> bool:
        """A reduce-only stop (a bracket's stop-loss) that triggers first cancels the other
        exits of its parent working at the venue: one cancels the other, before the send
        rather than after the fill, as a resting take-profit can hold the very quantity
        the stop must sell (a spot balance, Polymarket's tokens) and both filling would
        overfill the position. False: not sent now. Still HELD and armed when a cancel's
        answer is not in yet (asked again at the next tick); cancelled locally when a
        sibling filled meanwhile, so the bracket re-sizes it to what is open."""
        siblings = [o for o in self._ledger.live_orders()
                    if o.parent_id == order.parent_id and o.reduce_only and o is not order
                    and o.status is not S.HELD]
        resized = False
        for sibling in siblings:
            filled = sibling.filled_quantity
            await self._reconciler.cancel(venue, sibling, f"one cancels the other: "
                                          f"{order.role} {order.client_order_id} {at}")
            if not sibling.status.is_terminal:
                self._armed[order.client_order_id] = order  # the next tick asks again
                return False
            resized = resized or sibling.filled_quantity != filled
        if resized:
            self._ledger.transition(order, S.CANCELLED, f"{at}, not sent: another exit of "
                                    f"{order.parent_id} filled while it was cancelled; the "
                                    "bracket re-sizes this one to what is open (cancelled "
                                    "locally)")
            return False
        return True

    def _exit_refused(self, order: Order) -> None:
        """A bracket's exit refused (or not sent) when it triggered: the bracket answers
        it as one refused when placed (not placed again at every tick; one that could not
        be sent is tried again later), and says the position is unprotected."""
        if order.parent_id is not None and self._on_exit_refused is not None:
            self._on_exit_refused(order)

    def _refusal(self, order: Order) -> tuple[str, str] | Literal["wait"] | None:
        """What the kill switch says to a triggered stop: None (send it), a refusal (code
        and why), or "wait" (a reduce-only exit while nothing at all may leave)."""
        state = self._trading_state()
        if state is TradingState.ACTIVE:
            return None
        if order.reduce_only:
            if state is TradingState.HALTED and not self._brackets.exits_when_halted:
                return "wait"
            return None
        if state is TradingState.HALTED:
            return R.TRADING_HALTED, "trading state is HALTED: no order leaves"
        key = (order.account_id, order.venue, order.symbol)
        group = [o for o in self._ledger.live_orders()
                 if (o.account_id, o.venue, o.symbol) == key and not o.reduce_only]
        for named, why in beyond_reduce_only(group, self._position):
            if named is order:
                return R.REDUCE_ONLY, why
        return None

    def _event(self, order: Order, touch: Decimal, ticker: Ticker, outcome: StopOutcome,
               sent_as: OrderType | None, reason: str, code: str = "",
               price: Decimal | None = None) -> None:
        assert order.trigger_price is not None
        self._bus.publish(StopTriggered(
            self._clock.now(), order.client_order_id, order.signal_id, order.venue,
            order.symbol, order.side, order.trigger_price, touch, ticker.ts, outcome, sent_as,
            price, reason, code))
