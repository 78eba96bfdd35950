"""Emulated one-cancels-the-other: each exit of a bracket its own order.

Where the venue has no native OCO list (Polymarket, ccxt exchanges other than Binance
spot, a bracket with one exit, a list the venue refused, a venue whose stops ordergate
holds), `BracketManager` keeps a bracket's exits in line with what is open through this
path: an exit is placed for the quantity the entry delivered and no exit has closed, in
whole lots rounded down, and re-sized by cancelling it and placing the next leg. Never a
second leg beside one whose answer is awaited; the stop-loss before the take-profit; on
a spot account no take-profit beside a working stop (both would lock the same holdings).

Split from `bracket_manager.py`, which keeps the brackets' state, the bus and the audit;
this module only decides and sends (as `bracket_oco.py` does for native lists).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from ordergate.algorithms.bracket import Bracket, exit_order_type
from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.values import ZERO, BracketAction, OrderRole, OrderType, TimeInForce
from ordergate.journal.rows import order_with_fills
from ordergate.pipeline.client_order_id import child_client_order_id
from ordergate.pipeline.derived_send import send_derived
from ordergate.venues.account_kind import sells_lock_holdings
from ordergate.venues.base import VenueAdapter

if TYPE_CHECKING:
    from ordergate.algorithms.bracket_manager import BracketManager

S = OrderStatus


class EmulatedExits:
    """The exits of brackets without a native list (reads and writes the manager's
    bracket maps: `_by_exit`, `_dirty`, `_market_now`)."""

    def __init__(self, manager: BracketManager) -> None:
        self._m = manager

    async def adjust(self, bracket: Bracket, venue: VenueAdapter) -> None:
        """Each exit its own order, re-sized by cancel and a new leg."""
        m = self._m
        instrument = m._instrument(bracket.entry.venue, bracket.entry.symbol)
        for role, price in bracket.prices().items():
            # Measured again for each exit: placing the one before may have filled at once.
            open_quantity = bracket.open_quantity()
            if open_quantity < 0:
                m._overfill(bracket, -open_quantity)
            target = ZERO if bracket.released else max(open_quantity, ZERO)
            if instrument is not None:  # whole lots, down: a fee's dust is never oversold
                target = instrument.round_quantity(target)
            leg = bracket.current(role)
            if leg is not None and not leg.status.is_terminal:
                if leg.status in (S.PENDING, S.SUBMITTED, S.CANCEL_PENDING):
                    continue  # the venue's answer first: never a second leg beside one in doubt
                if leg.remaining_quantity == target:
                    continue
                await self._cancel(bracket, leg, target, venue)
                if leg.status.is_terminal:  # its fills are counted: size again from them
                    m._dirty[bracket.entry_id] = None
                return
            if role is OrderRole.TAKE_PROFIT and (self._stop_loss_due(bracket, target)
                                                  or self._stop_holds_it(bracket, target, venue)):
                continue
            if role in bracket.retry_at and bracket.retry_at[role] > m._clock.now():
                continue
            if target > 0 and bracket.refused_at.get(role) != target and m._may_send():
                crossed = bracket.entry_id in m._market_now
                await self._place(bracket, role, price, target, venue)
                if not crossed and bracket.entry_id in m._market_now:
                    # The stop was refused as already crossed: the position is closed at
                    # market first, before a take-profit could lock what that sells.
                    return

    @staticmethod
    def _stop_loss_due(bracket: Bracket, target: Decimal) -> bool:
        """The stop-loss is still to be placed, or its answer is awaited: the take-profit
        waits for it. On a spot account the first exit locks the base asset and the second
        is refused for funds, so the one that rests must be the stop, the exit that
        limits the loss; a take-profit placed while the stop is in doubt (a restart that
        has not resolved it yet) would take its place. A stop that cannot be placed at
        this size (refused) lets the take-profit go ahead: some exit beats none."""
        if bracket.stop_loss is None or target <= 0:
            return False
        stop = bracket.current(OrderRole.STOP_LOSS)
        if stop is not None and stop.status in (S.PENDING, S.SUBMITTED):
            return True
        if OrderRole.STOP_LOSS in bracket.retry_at:  # could not be sent: tried again soon
            return True
        return ((stop is None or stop.status.is_terminal)
                and bracket.refused_at.get(OrderRole.STOP_LOSS) != target)

    def _stop_holds_it(self, bracket: Bracket, target: Decimal, venue: VenueAdapter) -> bool:
        """On a spot account a take-profit never rests beside a working stop-loss: the
        stop reserves what the bracket holds, so the target could only rest on the
        holdings of another position (which the stop then could not get) and both could
        fill. Audited once per open quantity; one-cancels-the-other with both resting
        needs the venue's native OCO."""
        m = self._m
        stop = bracket.current(OrderRole.STOP_LOSS)
        if (target <= 0 or stop is None or stop.status.is_terminal
                or stop.status is S.HELD  # emulated: reserves nothing; cancels the target
                # before it is sent (`pipeline/stop_emulator.py`)
                or not sells_lock_holdings(venue, bracket.entry.symbol)):
            return False
        if bracket.refused_at.get(OrderRole.TAKE_PROFIT) != target:
            bracket.refused_at[OrderRole.TAKE_PROFIT] = target
            m._publish(bracket, BracketAction.UNPROTECTED,
                       f"take_profit not placed: on a spot account the stop-loss "
                       f"{stop.client_order_id} holds the {target} open, and a second exit "
                       "beside it would rest on holdings that are not this bracket's",
                       role=OrderRole.TAKE_PROFIT, quantity=target)
        return True

    async def _cancel(self, bracket: Bracket, leg: Order, target: Decimal,
                      venue: VenueAdapter) -> None:
        m = self._m
        why = ("nothing left to protect" if target == 0 else
               f"re-sizing: {target} is open now, this exit works for {leg.remaining_quantity}")
        await m._reconciler.cancel(venue, leg, f"bracket {bracket.entry_id}: {why}")
        m._publish(bracket, BracketAction.EXIT_CANCELLED,
                   f"{leg.role} exit {leg.status} ({why}); filled {leg.filled_quantity}",
                   role=leg.role, client_order_id=leg.client_order_id,
                   quantity=max(bracket.open_quantity(), ZERO))

    async def _place(self, bracket: Bracket, role: OrderRole, price: Decimal, target: Decimal,
                     venue: VenueAdapter) -> None:
        m = self._m
        entry = bracket.entry
        instrument = m._instrument(entry.venue, entry.symbol)
        if instrument is None:
            return
        side = entry.side.opposite
        quantity = instrument.round_quantity(target)
        market_now = role is OrderRole.STOP_LOSS and bracket.entry_id in m._market_now
        order_type = exit_order_type(role, market_now)
        limit = instrument.round_price(price, side) if order_type is OrderType.LIMIT else None
        trigger = (instrument.round_price(price, side.opposite)
                   if order_type is OrderType.STOP_MARKET else None)
        problem = instrument.quantity_problem(quantity) or instrument.notional_problem(
            quantity, limit or trigger or price)
        if problem:
            bracket.refused_at[role] = target
            m._publish(bracket, BracketAction.UNPROTECTED,
                       f"{target} is open but no {role} exit can be placed for it: {problem}",
                       role=role, quantity=target)
            return
        leg_number = bracket.next_leg(role)
        order = Order(
            child_client_order_id(entry.client_order_id, role, leg_number), entry.signal_id,
            entry.strategy_id, entry.account_id, entry.venue, entry.symbol, side, order_type,
            quantity, limit, TimeInForce.GTC, m._clock.now(),
            expected_price=limit or trigger, trigger_price=trigger,
            parent_id=entry.client_order_id, role=role, leg=leg_number, reduce_only=True)
        ledger = m._ledger
        if not ledger.open(order):  # journaled before (cannot be: legs come from the journal)
            found = ledger.get(order.client_order_id) or order_with_fills(
                ledger.journal, order.client_order_id)
            if found is not None:
                bracket.add_leg(found)
                m._by_exit[found.client_order_id] = bracket.entry_id
            return
        bracket.add_leg(order)
        m._by_exit[order.client_order_id] = bracket.entry_id
        at = (f"at market (the stop-loss {price} was already crossed)" if market_now else
              f"stop at {trigger}" if trigger is not None else f"limit at {limit}")
        m._publish(bracket, BracketAction.EXIT_PLACED,
                   f"{role} leg {leg_number}: {side} {quantity} {at}, reduce-only, for the "
                   f"{target} the entry has filled and no exit has closed",
                   role=role, client_order_id=order.client_order_id, quantity=target)
        if not await m._executor.prepare(venue, order):
            m._refused(bracket, order, target)
            return
        await send_derived(ledger, m._executor, m._reconciler, venue, order,
                           f"sending the {role} exit of {entry.client_order_id}: {side} "
                           f"{quantity} {at}")
        if order.status in (S.REJECTED, S.FAILED):
            m._refused(bracket, order, target)
