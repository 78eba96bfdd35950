"""A bracket's two exits as one native OCO list, where the entry's venue has one.

`BracketManager` hands a bracket here when its venue is `OcoCapable` (`venues.base`) and
both exits are wanted; otherwise (one exit only, a venue without lists, a list the venue
refused at this open quantity, a stop-loss the market has already crossed, exits placed
the emulated way still working) it emulates OCO with two separate orders, as before.

What a list changes, and why it is worth it:

- both exits rest as one list, the funds locked once: on a spot account the take-profit
  no longer has to be refused because the stop has locked the base;
- the venue ends the other leg itself, atomically, when one fills (even in part) or the
  stop triggers: both exits can never fill, so `bracket_overfill` cannot happen.

The same discipline as every exit: both legs are journaled (with the list's own record,
`parents` kind `oco_list`) before the list is sent, their client order IDs derived from
the entry's (`child_client_order_id(entry, role, leg)`) and the list's from the entry and
the leg (`child_client_order_id(entry, "oco", leg)`), so a restart derives them again and
relinks the legs (`relink`). A timeout is resolved by looking each leg up by its client
order ID; a list that never arrived is found absent by the reconciler (FAILED) and the
next one goes out under the next leg number, never the same IDs twice.

How the manager answers what happens to a list:

- the open quantity changed (the entry filled more; released): the list is cancelled with
  one cancel (the venue cancels both legs; the other is read, not cancelled) and, once
  both have ended, the next list is placed for what is open;
- a leg filled, even in part, or ended: the venue ends the other; the manager never sends
  a cancel that would race it, it reads the other leg. A leg still working after that (the
  take-profit that filled in part: its stop is gone) protects one side only, so it is
  cancelled and a whole list placed for what is still open.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING

from ordergate.algorithms.bracket import Bracket
from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.values import ZERO, BracketAction, OrderRole, OrderType, TimeInForce
from ordergate.events import OrderUnresolved
from ordergate.journal.rows import order_with_fills
from ordergate.pipeline.client_order_id import child_client_order_id
from ordergate.venues.base import (
    DuplicateClientOrderId,
    OcoCapable,
    OcoLeg,
    OcoRequest,
    OrderReport,
    RateLimited,
    VenueAdapter,
    VenueError,
    oco_capable,
)

if TYPE_CHECKING:
    from ordergate.algorithms.bracket_manager import BracketManager

S = OrderStatus
SL, TP = OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT
LIST_KIND = "oco_list"
LIST_ROLE = "oco"
_SEND_ATTEMPTS = 3
_IN_DOUBT = (S.PENDING, S.SUBMITTED, S.CANCEL_PENDING)


def list_client_order_id(entry_id: str, leg: int) -> str:
    """The list's own client order ID: from the entry and the leg, like its legs'."""
    return child_client_order_id(entry_id, LIST_ROLE, leg)


class OcoExits:
    """The native-OCO path of one `BracketManager` (it reads and writes the manager's
    bracket maps: `_by_exit`, `_dirty`)."""

    def __init__(self, manager: BracketManager) -> None:
        self._m = manager
        self._list_of: dict[str, str] = {}  # leg's client order ID -> its list's
        self._refused_at: dict[str, Decimal] = {}  # entry -> open quantity a list was refused at

    # ------------------------------------------------------------------ which path

    def capable(self, bracket: Bracket, venue: VenueAdapter, market_now: bool) -> OcoCapable | None:
        """The venue's OCO, if this bracket's exits go as a list now (module docstring)."""
        if market_now or len(bracket.prices()) != 2:
            return None
        if self._m.stops_emulated(bracket.entry.venue):
            return None  # its stops are ordergate's (held): a list would rest one at the venue
        capable = oco_capable(venue)
        if capable is None:
            return None
        working = bracket.working_exits()
        if any(leg.client_order_id not in self._list_of for leg in working):
            return None  # exits placed the emulated way: that path sees them to their end
        if not working and self._refused_at.get(bracket.entry_id) == self._target(bracket):
            return None  # refused at this open quantity: the emulated exits instead
        return capable

    def is_linked(self, client_order_id: str) -> bool:
        return client_order_id in self._list_of

    def relink(self, bracket: Bracket) -> int:
        """At a restart: legs journaled as a list (its `oco_list` record) are linked again.
        Returns how many lists."""
        journal = self._m._ledger.journal
        found = 0
        for stop in bracket.legs.get(SL, []):
            take_profit = next((o for o in bracket.legs.get(TP, []) if o.leg == stop.leg), None)
            list_id = list_client_order_id(bracket.entry_id, stop.leg)
            if take_profit is not None and journal.parent(list_id) is not None:
                self._link(list_id, stop, take_profit)
                found += 1
        return found

    def finished(self, bracket: Bracket) -> None:
        now = self._m._clock.now()
        for legs in bracket.legs.values():
            for leg in legs:
                list_id = self._list_of.pop(leg.client_order_id, None)
                if list_id is not None and leg.role is SL:
                    self._m._ledger.journal.set_parent_status(list_id, "done", now)
        self._refused_at.pop(bracket.entry_id, None)

    # ------------------------------------------------------------------ adjusting

    def _target(self, bracket: Bracket) -> Decimal:
        """What the list must work for: the open quantity (net of a commission taken in
        the base, `Bracket.entry_holding`) in whole lots, down, as for emulated exits."""
        target = ZERO if bracket.released else max(bracket.open_quantity(), ZERO)
        instrument = self._m._instrument(bracket.entry.venue, bracket.entry.symbol)
        return target if instrument is None else instrument.round_quantity(target)

    async def adjust(self, bracket: Bracket, venue: VenueAdapter, capable: OcoCapable) -> None:
        m = self._m
        if (open_quantity := bracket.open_quantity()) < 0:  # cannot happen with a list
            m._overfill(bracket, -open_quantity)
        target = self._target(bracket)
        working = bracket.working_exits()
        if not working:
            now = m._clock.now()
            if any(bracket.retry_at.get(role, now) > now for role in (SL, TP)):
                return  # a list that could not be sent: tried again at its time
            if target > 0 and m._may_send() and bracket.refused_at.get(SL) != target:
                await self._place(bracket, target, venue, capable)
            return
        if any(leg.status in _IN_DOUBT for leg in working):
            return  # the venue's answer first: never a list beside one in doubt
        legs = self._legs(bracket, self._list_of[working[0].client_order_id])
        touched = any(leg.filled_quantity > 0 or leg.status.is_terminal for leg in legs)
        if touched:
            # The venue ends the untouched leg itself: read it, never cancel it (a cancel
            # would race the venue's own). Still working once read: the venue did not tie
            # them after all, and it is cancelled as an emulated exit would be.
            for leg in legs:
                if leg.filled_quantity == 0 and not leg.status.is_terminal:
                    if not await self._read(venue, leg):
                        return  # no answer: the reconciler's next poll tells
                    if not leg.status.is_terminal:
                        await self._cancel(bracket, leg, target, venue, "the venue left it "
                                           "working after the other leg filled")
                    else:
                        m._publish(bracket, BracketAction.EXIT_CANCELLED,
                                   f"{leg.role} exit {leg.status} by the venue, with the "
                                   "other leg of its OCO list (filled, triggered or cancelled)",
                                   role=leg.role, client_order_id=leg.client_order_id,
                                   quantity=target)
        elif all(leg.remaining_quantity == target for leg in legs):
            return  # in line with what is open
        still = [leg for leg in legs if not leg.status.is_terminal]
        if still:
            # Re-sizing, released, or one side left after a partial fill: one cancel ends
            # the list (or the leg left); the other leg is read, not cancelled.
            why = ("nothing left to protect" if target == 0 else
                   f"re-sizing: {target} is open, the list works for "
                   f"{max(leg.remaining_quantity for leg in still)}" if not touched else
                   f"{target} is open and only one side of it is protected: a whole list next")
            await self._cancel(bracket, still[0], target, venue, why)
            for other in still[1:]:
                if not other.status.is_terminal:
                    await self._read(venue, other)
        m._dirty[bracket.entry_id] = None  # sized again from the ends just counted

    async def _cancel(self, bracket: Bracket, leg: Order, target: Decimal,
                      venue: VenueAdapter, why: str) -> None:
        m = self._m
        await m._reconciler.cancel(venue, leg, f"bracket {bracket.entry_id}: {why}")
        m._publish(bracket, BracketAction.EXIT_CANCELLED,
                   f"{leg.role} exit {leg.status} ({why}); filled {leg.filled_quantity}; "
                   "one cancel ends its whole OCO list at the venue",
                   role=leg.role, client_order_id=leg.client_order_id, quantity=target)

    async def _read(self, venue: VenueAdapter, leg: Order) -> bool:
        """Bring a leg up to date from the venue (a read, never a cancel). False if the
        venue could not answer (the reconciler, which follows the leg, asks again)."""
        try:
            report = await venue.fetch_order(leg.symbol, leg.client_order_id, leg.venue_order_id)
        except VenueError:  # not silent: the guard counts and reports venue failures, and
            return False    # the reconciler, which follows this leg, asks again at its poll
        await self._m._reconciler.sync(venue, leg, report)
        return True

    def _legs(self, bracket: Bracket, list_id: str) -> list[Order]:
        """The list's legs, take-profit first."""
        return [leg for role in (TP, SL) for leg in bracket.legs.get(role, [])
                if self._list_of.get(leg.client_order_id) == list_id]

    def _link(self, list_id: str, *legs: Order) -> None:
        for leg in legs:
            self._list_of[leg.client_order_id] = list_id

    # ------------------------------------------------------------------ placing

    async def _place(self, bracket: Bracket, target: Decimal, venue: VenueAdapter,
                     capable: OcoCapable) -> None:
        m = self._m
        entry = bracket.entry
        instrument = m._instrument(entry.venue, entry.symbol)
        if instrument is None or bracket.stop_loss is None or bracket.take_profit is None:
            return
        side = entry.side.opposite
        quantity = instrument.round_quantity(target)
        limit = instrument.round_price(bracket.take_profit, side)
        trigger = instrument.round_price(bracket.stop_loss, side.opposite)
        problem = instrument.quantity_problem(quantity) or instrument.notional_problem(
            quantity, min(limit, trigger))
        if problem:
            bracket.refused_at[SL] = bracket.refused_at[TP] = target
            m._publish(bracket, BracketAction.UNPROTECTED,
                       f"{target} is open but no exits can be placed for it: {problem}",
                       quantity=target)
            return
        n = max(bracket.next_leg(SL), bracket.next_leg(TP))
        list_id = list_client_order_id(bracket.entry_id, n)
        now = m._clock.now()

        def leg(role: OrderRole) -> Order:
            stop = role is SL
            return Order(
                child_client_order_id(entry.client_order_id, role, n), entry.signal_id,
                entry.strategy_id, entry.account_id, entry.venue, entry.symbol, side,
                OrderType.STOP_MARKET if stop else OrderType.LIMIT, quantity,
                None if stop else limit, TimeInForce.GTC, now,
                expected_price=trigger if stop else limit, post_only=not stop,
                trigger_price=trigger if stop else None, parent_id=entry.client_order_id,
                role=role, leg=n, reduce_only=True)

        take_profit, stop = leg(TP), leg(SL)
        ledger = m._ledger
        opened = [ledger.open(take_profit), ledger.open(stop)]
        journal = ledger.journal
        if not all(opened):  # journaled before (cannot be: legs come from the journal)
            for order in (take_profit, stop):
                found = ledger.get(order.client_order_id) or order_with_fills(
                    journal, order.client_order_id)
                if found is not None and found not in bracket.legs.get(found.role, []):
                    bracket.add_leg(found)
                    m._by_exit[found.client_order_id] = bracket.entry_id
            return
        journal.insert_parent(list_id, LIST_KIND, entry.signal_id, json.dumps(
            {"entry": bracket.entry_id, "leg": n, "take_profit": take_profit.client_order_id,
             "stop_loss": stop.client_order_id}, sort_keys=True), now)
        for order in (take_profit, stop):
            bracket.add_leg(order)
            m._by_exit[order.client_order_id] = bracket.entry_id
        self._link(list_id, take_profit, stop)
        for order, at in ((take_profit, f"limit at {limit} (post-only)"),
                          (stop, f"stop at {trigger}")):
            m._publish(bracket, BracketAction.EXIT_PLACED,
                       f"{order.role} leg {n}: {side} {quantity} {at}, reduce-only, for the "
                       f"{target} the entry has filled and no exit has closed; one OCO list "
                       f"{list_id} with the other: the venue ends the other when one fills",
                       role=order.role, client_order_id=order.client_order_id, quantity=target)
        for order in (take_profit, stop):
            if not await m._executor.prepare(venue, order):
                for other in (take_profit, stop):
                    if other.status is S.PENDING:
                        ledger.transition(other, S.FAILED, "not sent: the other leg of its "
                                          "OCO list could not be prepared")
                self._refused(bracket, order, target)
                return
        for order in (take_profit, stop):
            ledger.transition(order, S.SUBMITTED, f"sending OCO list {list_id}: the {order.role} "
                              f"leg, {side} {quantity}")
        await ledger.commit_before_send()
        request = OcoRequest(list_id, entry.account_id, entry.symbol, side, quantity,
                             OcoLeg(take_profit.client_order_id, limit),
                             OcoLeg(stop.client_order_id, trigger))
        await self._send(bracket, request, (take_profit, stop), target, venue, capable)

    async def _send(self, bracket: Bracket, request: OcoRequest, legs: tuple[Order, Order],
                    target: Decimal, venue: VenueAdapter, capable: OcoCapable) -> None:
        """The list out, with the executor's discipline: a refusal ends both legs; after an
        ambiguous failure each leg is looked up by its client order ID and nothing is
        resent under the same IDs (a list that never arrived is found absent by the
        reconciler, and the next one goes under the next leg)."""
        m = self._m
        ledger, clock = m._ledger, m._clock
        last = "no attempt made"
        for attempt in range(1, _SEND_ATTEMPTS + 1):
            try:
                reports = await capable.place_oco(request)
            except DuplicateClientOrderId:
                await self._resolve(venue, legs, "the venue already has these client order IDs")
                return
            except VenueError as exc:
                last = f"{type(exc).__name__}: {exc}"
                if exc.ambiguous:
                    await self._resolve(venue, legs, last)
                    return
                if not exc.retryable:
                    for order in legs:
                        ledger.transition(order, S.REJECTED, f"venue rejected the OCO list "
                                          f"{request.list_client_order_id}: {last}")
                    self._refused(bracket, legs[0], target)
                    return
                if attempt < _SEND_ATTEMPTS:
                    wait = exc.retry_after if isinstance(exc, RateLimited) else None
                    await clock.sleep(max(wait or 0.0, 0.5 * 2 ** (attempt - 1)))
                continue
            await self._apply(venue, legs, reports)
            return
        for order in legs:
            ledger.transition(order, S.FAILED, f"not accepted after {_SEND_ATTEMPTS} "
                              f"attempt(s): {last}")
        m._refused(bracket, legs[1], target)  # audited unprotected, tried again later

    async def _resolve(self, venue: VenueAdapter, legs: tuple[Order, Order], why: str) -> None:
        """The list's outcome is unknown: each leg looked up by client order ID; what is not
        found stays SUBMITTED, followed by the reconciler until the venue answers."""
        reports: list[OrderReport] = []
        for order in legs:
            found = await self._m._executor.lookup(venue, order)
            if isinstance(found, OrderReport):
                reports.append(found)
        if len(reports) == len(legs):
            await self._apply(venue, legs, reports)
            return
        m = self._m
        for order in legs:
            if order.status is S.SUBMITTED:
                m._reconciler.follow(venue, order)
                m._ledger.publish(OrderUnresolved(
                    m._clock.now(), order.client_order_id, order.signal_id,
                    f"{why}; the venue could not confirm this leg of its OCO list"))

    async def _apply(self, venue: VenueAdapter, legs: tuple[Order, Order],
                     reports: list[OrderReport]) -> None:
        by_id = {report.client_order_id: report for report in reports}
        for order in legs:
            report = by_id.get(order.client_order_id)
            if report is not None:
                await self._m._reconciler.sync(venue, order, report)
            if not order.status.is_terminal:
                self._m._reconciler.follow(venue, order)

    def _refused(self, bracket: Bracket, order: Order, target: Decimal) -> None:
        """The venue refused the list (or it could not be sent): the exits go the emulated
        way at this open quantity (a stop already crossed is closed at market there, a
        take-profit already reached fills as a plain limit)."""
        m = self._m
        self._refused_at[bracket.entry_id] = target
        last = order.transitions[-1].reason if order.transitions else str(order.status)
        m._publish(bracket, BracketAction.EXIT_CANCELLED,
                   f"OCO list refused ({last}): the {target} open is protected by two "
                   "separate exits instead (one cancels the other by ordergate)",
                   quantity=target)
        m._dirty[bracket.entry_id] = None
