"""`Amender`: change a working order's quantity or price.

Where the venue has an atomic replace (`base.Replaceable`: Binance spot's
`cancelReplace`, the simulated venue's) and nothing of the working leg has filled, the
amend is that one request (`amend_native.py`). Everywhere else, and for a leg with
fills, it is an explicit, journaled cancel-then-replace, described here (ccxt's own
`edit_order` is a non-atomic cancel plus create on most exchanges, and is never called
blind). Step 1 and the lineage are the same for both:

1. Checked first, the order left as it is when refused (a `ReasonCode`, an
   `OrderModifyRejected`): it must be working and not managed by a bracket or a TWAP;
   the new price and the rest of the new quantity must pass the instrument's rules;
   HALTED amends nothing, REDUCING never grows an order; and the risk manager's checks
   for what the amend adds (`RiskManager.check_amend`: the notional cap, the free
   equity, the price band), given to the amender as a callable by the engine.
2. The order moves to PENDING_UPDATE, what is asked is journaled as a record of its own
   (`amend_legs.record_ask`) and committed, then its cancel is sent; the venue's
   answer, fills first, decides. Filled meanwhile: the amend is too late
   (AMEND_TOO_LATE). Cancel refused: the order is working again, unchanged.
3. Cancelled: the replacement, the next leg of the lineage (`role` amendment, `parent_id`
   the signal's own order, `leg` 1, 2, ..., a client order ID derived from the root's and
   the leg), is sized from *recorded* fills: the new total minus what every leg has
   filled, so a fill that raced the amend never lets the total filled pass what was
   intended. Journaled and committed before it is sent, sent and followed like any order.
4. The cancel's answer not known (a timeout): the replacement waits for it (`run`, at the
   end of each decision), and is never sent while the old leg may still be working.

A restart after the ask was journaled and before the replacement was (`restore`): the
amend is finished, not lost. Recovery has looked the old leg up; once it is cancelled,
the replacement is sent as in 3, sized from recorded fills (a replacement already
journaled is never sent again: recovery follows it). Filled: AMEND_TOO_LATE. Still
working (the cancel never left, or the venue had not applied it yet): its cancel is
sent again and the amend goes on as in 2 to 4. Leaving it working instead would lose the
amend whenever a cancel sent before the kill lands after the restart's lookup: the
trader would have nothing working, the one outcome nobody asked for.

The kill switch is asked again when the replacement is about to leave, as it may have
moved while the cancel was answered or over a restart: none leaves while HALTED, none
that grows the order while REDUCING (TRADING_HALTED, REDUCE_ONLY: the old leg ends
cancelled). A restart under HALTED does not cancel an old leg that still works: it works
on, unchanged.

The amended total is the intent: an amend of an amend counts the fills of every leg.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal

from ordergate.bus import EventBus
from ordergate.clock import Clock
from ordergate.domain.instrument import Instrument
from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.values import ZERO, OrderRole, TradingState
from ordergate.events import OrderModifyRejected, OrderTransitioned, OrderUpdated
from ordergate.journal.rows import order_with_fills
from ordergate.pipeline.amend_legs import (
    AmendOutcome, AmendRisk, Asked, active_asks, lineage, open_next_leg, record_ask,
)
from ordergate.pipeline.amend_native import NativeAmender
from ordergate.pipeline.derived_send import send_derived
from ordergate.pipeline.execute import Executor
from ordergate.pipeline.order_ledger import OrderLedger
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.pipeline.reconcile import Reconciler
from ordergate.venues.base import VenueAdapter, replaceable

__all__ = ["AmendOutcome", "Amender"]

S = OrderStatus
_MANAGED = (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT, OrderRole.SLICE)


class Amender:
    def __init__(self, ledger: OrderLedger, executor: Executor, reconciler: Reconciler,
                 bus: EventBus, clock: Clock,
                 instrument: Callable[[str, str], Instrument | None],
                 trading_state: Callable[[], TradingState], *, risk: AmendRisk) -> None:
        self._ledger, self._executor, self._reconciler = ledger, executor, reconciler
        self._bus, self._clock = bus, clock
        self._instrument, self._trading_state, self._risk = instrument, trading_state, risk
        self._waiting: dict[str, Asked] = {}  # old leg's ID -> the amend its cancel holds up
        self._ready: list[str] = []
        self._recancel: list[Asked] = []  # restored asks whose old leg still works
        self._native = NativeAmender(ledger, executor, reconciler, bus, clock)
        bus.subscribe(OrderTransitioned, self._transitioned)

    @property
    def pending(self) -> bool:
        return bool(self._ready) or bool(self._recancel) or self._native.pending

    def restore(self, venues: Mapping[str, VenueAdapter]) -> int:
        """At start, after recovery: finish the explicit amends a restart interrupted
        (their asks journaled, `record_ask`; carried on by `run` at the start's settle),
        then the native ones (`amend_native.NativeAmender.restore`). Returns how many
        legs it found."""
        ledger, journal = self._ledger, self._ledger.journal
        explicit: set[str] = set()
        for ask_id, spec in active_asks(journal):
            cid = str(spec["order"])
            old = ledger.get(cid) or order_with_fills(journal, cid)
            venue = venues.get(old.venue) if old is not None else None
            if old is None or venue is None:
                continue  # recovery reported the venue missing; the ask waits for it
            explicit.add(cid)
            price = spec["price"]
            total = Decimal(spec["total"])
            asked = Asked(old, venue, total, None if price is None else Decimal(price), ask_id,
                          grows=total > Decimal(spec["was"]))
            if any(leg.leg >= int(spec["leg"]) for leg in self._legs(old)):
                # The replacement was journaled: recovery follows it (never resent).
                self._finish_ask(asked)
            elif old.status.is_terminal:  # cancelled (or filled): decided at `run`
                self._waiting[cid] = asked
                self._ready.append(cid)
            else:
                self._recancel.append(asked)
        return len(explicit) + self._native.restore(venues, skip=explicit)

    async def amend(self, venue: VenueAdapter, order: Order, quantity: Decimal | None,
                    price: Decimal | None) -> AmendOutcome:
        legs = self._legs(order)
        filled = sum((leg.filled_quantity for leg in legs), ZERO)
        intended = filled - order.filled_quantity + order.quantity  # the lineage's total
        refused = await self._check(order, legs, quantity, price, filled, intended)
        if isinstance(refused, AmendOutcome):
            return refused
        total, new_price = refused
        asked = Asked(order, venue, total, new_price, grows=total > intended)
        native = replaceable(venue) if order.filled_quantity == 0 else None
        if native is not None:  # the venue's atomic replace (`amend_native.py`)
            return await self._native.amend(asked, legs, native, intended)
        ledger = self._ledger
        leg = max(leg.leg for leg in legs) + 1
        asked = replace(asked, ask_id=record_ask(ledger.journal, asked, intended, leg,
                                                 self._clock.now()))
        ledger.transition(order, S.PENDING_UPDATE, f"amend asked: total {total}"
                          + (f" @ {new_price}" if new_price is not None else "")
                          + f" (was {intended}" + (f" @ {order.price}" if order.price
                                                   is not None else "") + "); cancelling "
                          "this leg first, then the rest is sent as the next leg")
        await ledger.commit_before_send()  # the ask survives a kill once the cancel is out
        await self._reconciler.cancel(venue, order, "amending: cancelling this leg to replace it")
        return await self._after_cancel(asked)

    async def run(self) -> None:
        """Send the replacements whose old leg's cancel has now been answered; unwind the
        native amends whose replacement ended unplaced; after a restart, cancel again the
        old legs of interrupted amends that still work."""
        await self._native.run()
        recancel, self._recancel = self._recancel, []
        for restored in recancel:
            await self._cancel_again(restored)
        ready, self._ready = self._ready, []
        for client_order_id in ready:
            asked = self._waiting.pop(client_order_id, None)
            if asked is not None:
                await self._after_cancel(asked)

    # ------------------------------------------------------------------ steps

    async def _check(self, order: Order, legs: list[Order], quantity: Decimal | None,
               price: Decimal | None, filled: Decimal,
               intended: Decimal) -> AmendOutcome | tuple[Decimal, Decimal | None]:
        def no(code: R, why: str) -> AmendOutcome:
            self._bus.publish(OrderModifyRejected(self._clock.now(), order.client_order_id,
                                                  order.signal_id, code, why))
            return AmendOutcome(False, code, why, order)

        if order.status not in (S.ACCEPTED, S.PARTIALLY_FILLED):
            return no(R.AMEND_NOT_WORKING, f"order {order.client_order_id} is {order.status}: "
                      "only an order working at its venue can be amended")
        if order.role in _MANAGED or order.reduce_only:
            return no(R.AMEND_NOT_AMENDABLE, f"order {order.client_order_id} is a {order.role} "
                      "managed by its bracket or algorithm, which sizes it")
        bracket = self._ledger.journal.parent(legs[0].client_order_id)
        if bracket is not None and bracket["status"] == "active":
            # Its exits follow this order's own fills: a replacement leg's would go unprotected.
            return no(R.AMEND_NOT_AMENDABLE, f"order {order.client_order_id} is the entry of "
                      "a bracket, whose exits follow its fills; cancel it and send a new signal")
        state = self._trading_state()
        if state is TradingState.HALTED:
            return no(R.TRADING_HALTED, "trading state is HALTED: nothing is amended")
        instrument = self._instrument(order.venue, order.symbol)
        if instrument is None:
            return no(R.AMEND_INVALID, f"{order.symbol} is not listed at {order.venue} now")
        if price is not None and not order.order_type.has_limit_price:
            return no(R.AMEND_INVALID, f"price: a {order.order_type} order has no limit price")
        total = intended if quantity is None else instrument.round_quantity(quantity)
        new_price = order.price if price is None else instrument.round_price(price, order.side)
        if total == intended and new_price == order.price:
            return no(R.AMEND_NOTHING_TO_CHANGE, f"quantity {total} and price {new_price} are "
                      "what the order already has")
        if total <= filled:
            return no(R.AMEND_BELOW_FILLED, f"quantity: {total} is not more than the {filled} "
                      "already filled; cancel the order instead")
        if state is TradingState.REDUCING and total > intended:
            return no(R.REDUCE_ONLY, "trading state is REDUCING: an amend may not grow an order")
        rest = total - filled
        expected = new_price if new_price is not None else order.expected_price
        problem = instrument.quantity_problem(rest) or (
            instrument.notional_problem(rest, expected) if expected is not None else None)
        if problem:
            return no(R.AMEND_INVALID, f"the {rest} left to send after rounding: {problem}")
        verdict = await self._risk(order, instrument, rest, new_price,
                                   sum((leg.filled_notional for leg in legs), ZERO))
        if verdict.code is not None:
            return no(verdict.code, f"risk: {verdict.reason}")
        return total, new_price

    async def _cancel_again(self, asked: Asked) -> None:
        """A restored ask whose old leg still works (or could not be looked up): cancelled
        again to finish the amend, unless HALTED (no replacement could leave: it works on)."""
        old = asked.old
        if self._trading_state() is TradingState.HALTED and old.status is S.PENDING_UPDATE:
            why = ("a restart interrupted the amend, and trading state is HALTED: no "
                   f"replacement may leave; order {old.client_order_id} works unchanged")
            self._ledger.transition(old, S.PARTIALLY_FILLED if old.filled_quantity > 0
                                    else S.ACCEPTED, why)
            self._bus.publish(OrderModifyRejected(self._clock.now(), old.client_order_id,
                                                  old.signal_id, R.TRADING_HALTED, why))
            self._finish_ask(asked)
            return
        await self._reconciler.cancel(asked.venue, old, "a restart interrupted the amend of "
                                      "this leg: cancelling it again to finish the amend")
        await self._after_cancel(asked)

    async def _after_cancel(self, asked: Asked) -> AmendOutcome:
        outcome = await self._decide(asked)
        if not outcome.pending:
            self._finish_ask(asked)
        return outcome

    def _finish_ask(self, asked: Asked) -> None:
        if asked.ask_id is not None:
            self._ledger.journal.set_parent_status(asked.ask_id, "done", self._clock.now())

    async def _decide(self, asked: Asked) -> AmendOutcome:
        old = asked.old
        if old.status is S.FILLED:
            why = (f"order {old.client_order_id} filled ({old.filled_quantity}) before its "
                   "cancel: nothing is left to amend")
            self._bus.publish(OrderModifyRejected(self._clock.now(), old.client_order_id,
                                                  old.signal_id, R.AMEND_TOO_LATE, why))
            return AmendOutcome(False, R.AMEND_TOO_LATE, why, old)
        if old.status.is_working and old.status is not S.CANCEL_PENDING:
            why = f"the venue refused the cancel: order {old.client_order_id} works unchanged"
            self._bus.publish(OrderModifyRejected(self._clock.now(), old.client_order_id,
                                                  old.signal_id, R.AMEND_REFUSED_BY_VENUE, why))
            return AmendOutcome(False, R.AMEND_REFUSED_BY_VENUE, why, old)
        if not old.status.is_terminal:  # the cancel's answer is not known yet
            self._waiting[old.client_order_id] = asked
            return AmendOutcome(True, None, f"order {old.client_order_id} is {old.status}: the "
                                "replacement is sent once the venue confirms the cancel", old,
                                pending=True)
        legs = self._legs(old)
        rest = asked.total - sum((leg.filled_quantity for leg in legs), ZERO)
        if rest <= 0:  # fills that raced the cancel made up the new total
            why = f"fills that raced the cancel reached the new total {asked.total}: nothing to send"
            self._bus.publish(OrderModifyRejected(self._clock.now(), old.client_order_id,
                                                  old.signal_id, R.AMEND_TOO_LATE, why))
            return AmendOutcome(False, R.AMEND_TOO_LATE, why, old)
        # The kill switch may have moved while the cancel was answered (or over a restart).
        state = self._trading_state()
        if state is TradingState.HALTED or (state is TradingState.REDUCING and asked.grows):
            code = R.TRADING_HALTED if state is TradingState.HALTED else R.REDUCE_ONLY
            why = (f"order {old.client_order_id} is cancelled, and trading state is {state} "
                   f"now: its replacement ({rest}, growing the order: {asked.grows}) is not sent")
            self._bus.publish(OrderModifyRejected(self._clock.now(), old.client_order_id,
                                                  old.signal_id, code, why))
            return AmendOutcome(False, code, why, old)
        return await self._replace(asked, legs, rest)

    async def _replace(self, asked: Asked, legs: list[Order], rest: Decimal) -> AmendOutcome:
        old, venue = asked.old, asked.venue
        root = legs[0]
        ledger = self._ledger
        new = await open_next_leg(ledger, self._executor, asked, legs, rest, self._clock.now())
        if isinstance(new, AmendOutcome):
            return new
        leg = new.leg
        at = f" @ {asked.price}" if asked.price is not None else ""
        await send_derived(ledger, self._executor, self._reconciler, venue, new,
                           f"amendment {leg} of {root.client_order_id}: sending {rest}{at}, "
                           f"the rest of the new total {asked.total}")
        self._bus.publish(OrderUpdated(
            self._clock.now(), old.client_order_id, new.client_order_id, old.signal_id,
            asked.total, asked.price, f"replaced by amendment {leg}: {rest}{at} sent "
            f"({new.status}); {asked.total - rest} filled before"))
        return AmendOutcome(True, None, f"order {new.client_order_id} {new.status}", new)

    def _legs(self, order: Order) -> list[Order]:
        return lineage(self._ledger, order)

    def _transitioned(self, event: OrderTransitioned) -> None:
        if event.client_order_id in self._waiting and event.to_status.is_terminal:
            self._ready.append(event.client_order_id)
