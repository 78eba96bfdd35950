"""The risk manager: should this trade be taken, and how big?

Checks run cheapest first. A signal without a quantity is sized so that the distance
from entry to stop risks `risk_per_trade` of equity; a signal without a stop gets one
`default_stop_distance` away. The trading state is the kill switch: HALTED refuses
everything, REDUCING admits only orders that shrink an existing position.

Every exposure check counts working orders, not only fills (`domain/exposure.py`): an
order that rests can fill, and a check blind to it admits risk it cannot see.
- REDUCING admits a reducing order only up to what is left to reduce: the position less
  the remaining quantity of working orders on the same side, which will take it off
  already. A sized order under REDUCING is sized to exactly that.
- `max_open_positions` counts symbols with a position *or* a working order (one that
  rests on a flat symbol will open a position when it fills).
- An order that adds exposure (anything beyond what it takes off the position) must fit
  in the equity that is free after the account's working buys, and is sized from that
  free equity; an order that only reduces is never refused for lack of equity: taking
  risk off must always be possible.

An amend of a working order (`amend.py`) asks `check_amend` before anything changes, so
an amend cannot do what a signal may not: grow an order past `max_order_notional` or the
free equity, or move its price out of the band.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import NamedTuple

from ordergate.config import RiskSettings
from ordergate.domain.exposure import SymbolExposure
from ordergate.domain.instrument import Instrument
from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.values import ZERO, Side, TradingState
from ordergate.pipeline.chain import MarketAccess, SignalContext, Verdict
from ordergate.pipeline.reasons import ReasonCode as R


class RiskManager:
    name = "risk"

    def __init__(self, settings: RiskSettings) -> None:
        self._s = settings
        # parse: a settings object built with `model_copy(update=...)` is not re-validated
        self.trading_state = TradingState.parse(settings.trading_state)

    async def handle(self, ctx: SignalContext) -> Verdict:
        signal, market = ctx.signal, ctx.market
        state = self.trading_state
        if state is TradingState.HALTED:
            return Verdict.deny(R.TRADING_HALTED, "trading state is HALTED: no orders leave")
        exposure = market.exposure(signal.account_id, signal.venue, signal.symbol)
        if state is TradingState.REDUCING:
            refusal = self._reduce_only(signal.side, signal.quantity, exposure)
            if refusal is not None:
                return refusal

        reference = await market.reference_price(signal.venue, signal.symbol)
        if reference is None or reference <= 0:
            return Verdict.deny(R.NO_REFERENCE_PRICE, f"no reference price for {signal.symbol}")
        ctx.reference_price = reference
        trigger = signal.trigger_price
        if trigger is not None and (refusal := _trigger_side(signal.side, trigger, reference)):
            return refusal
        # What the order executes at, for sizing and notional: its limit price; a
        # stop_market's trigger (it fills at market once the market is there); else the
        # reference.
        entry = (signal.limit_price if signal.limit_price is not None
                 else trigger if trigger is not None else reference)
        for name, price in (("limit_price", signal.limit_price), ("trigger_price", trigger)):
            if price is None:
                continue
            deviation = abs(price - reference) / reference
            if deviation > self._s.price_band:
                return Verdict.deny(
                    R.PRICE_BAND, f"{name}: {price} is {deviation:.2%} from the "
                    f"reference {reference}; band {self._s.price_band:.2%}"
                )

        verdict = self._check_stops(ctx, entry)
        if verdict is not None:
            return verdict
        if not exposure.is_open:
            held = market.open_symbols(signal.account_id)
            if len(held) >= self._s.max_open_positions:
                return Verdict.deny(
                    R.MAX_POSITIONS, f"{len(held)} symbols hold a position or a working order, "
                    f"limit {self._s.max_open_positions}"
                )
        return await self._size(ctx, entry, exposure)

    @staticmethod
    def _reduce_only(side: Side, quantity: Decimal | None,
                     exposure: SymbolExposure) -> Verdict | None:
        position = exposure.position
        if not exposure.reduces(side):
            return Verdict.deny(
                R.REDUCE_ONLY, f"trading state is REDUCING and position is {position}: "
                f"a {side} would not reduce it")
        room = exposure.reducible(side)
        working = exposure.working(side)
        if room <= 0:
            return Verdict.deny(
                R.REDUCE_ONLY, f"trading state is REDUCING: position {position} is already "
                f"covered by working {side} orders of {working}")
        if quantity is not None and quantity > room:
            return Verdict.deny(
                R.REDUCE_ONLY, f"quantity: {quantity} exceeds what is left to reduce: position "
                f"{abs(position)} less working {side} orders {working} = {room}")
        return None

    def _check_stops(self, ctx: SignalContext, entry: Decimal) -> Verdict | None:
        signal = ctx.signal
        buying = signal.side is Side.BUY
        stop = signal.stop_loss
        if stop is None:
            distance = entry * self._s.default_stop_distance
            stop = entry - distance if buying else entry + distance
        elif stop == entry or (stop < entry) != buying:  # at the entry: no distance to size by
            return Verdict.deny(
                R.STOP_LOSS_WRONG_SIDE,
                f"stop_loss: {stop} is on the wrong side of the entry {entry} for a {signal.side}",
            )
        ctx.stop_loss = stop
        if signal.take_profit is not None:
            if (signal.take_profit > entry) != buying:
                return Verdict.deny(
                    R.TAKE_PROFIT_WRONG_SIDE,
                    f"take_profit: {signal.take_profit} is on the wrong side of the entry {entry}",
                )
            ratio = abs(signal.take_profit - entry) / abs(entry - stop)
            if ratio < self._s.min_reward_risk:
                return Verdict.deny(
                    R.REWARD_RISK_TOO_LOW,
                    f"reward:risk {ratio:.2f} below minimum {self._s.min_reward_risk}",
                )
        return None

    async def _size(self, ctx: SignalContext, entry: Decimal, exposure: SymbolExposure) -> Verdict:
        signal, instrument = ctx.signal, ctx.instrument
        assert instrument is not None and ctx.stop_loss is not None
        cap = self._s.max_order_notional
        room = exposure.reducible(signal.side)
        funds: _FreeEquity | None = None
        if signal.quantity is not None:
            quantity = signal.quantity
            how = f"quantity {quantity} from the signal"
        elif self.trading_state is TradingState.REDUCING:
            quantity = room
            how = (f"quantity {quantity} closes what is left of the position (REDUCING: "
                   f"{abs(exposure.position)} less working {signal.side} orders "
                   f"{exposure.working(signal.side)})")
        else:
            funds = await self._free_equity(ctx)
            free = funds.free
            if free is None or free <= 0:
                return Verdict.deny(R.NO_EQUITY, funds.describe())
            at_risk = free * self._s.risk_per_trade
            quantity = instrument.round_quantity(
                min(at_risk / abs(entry - ctx.stop_loss), cap / entry, free / entry)
            )
            if quantity <= 0 or instrument.quantity_problem(quantity):
                return Verdict.deny(
                    R.SIZE_TOO_SMALL, f"sized quantity {quantity} is below the instrument minimum"
                )
            how = (f"sized {quantity}: {self._s.risk_per_trade:.2%} of {funds.describe()} "
                   f"over stop distance {abs(entry - ctx.stop_loss)}")
        notional = quantity * entry
        if notional > cap:
            return Verdict.deny(R.MAX_NOTIONAL, f"notional {notional} above maximum {cap}")
        adding = quantity - min(quantity, room)  # what is not taken off the position
        if adding > 0:
            funds = funds or await self._free_equity(ctx)
            if funds.free is None:
                how += f"; {funds.describe()}: the free equity could not be checked"
            elif adding * entry > funds.free:
                return Verdict.deny(
                    R.INSUFFICIENT_EQUITY, f"notional {adding * entry} of new exposure is more "
                    f"than the {funds.describe()}")
        ctx.quantity = quantity
        return Verdict.admit(f"{how}; reference {ctx.reference_price}; stop {ctx.stop_loss}")

    async def _free_equity(self, ctx: SignalContext) -> _FreeEquity:
        signal, instrument = ctx.signal, ctx.instrument
        assert instrument is not None
        return await self._funds(ctx.market, signal.account_id, signal.venue, instrument)

    async def _funds(self, market: MarketAccess, account_id: str, venue: str,
                     instrument: Instrument) -> _FreeEquity:
        """The account's equity less what its working buys may still spend."""
        currency = self._s.equity_currency or instrument.quote
        equity = await market.equity(account_id, venue, currency)
        if equity is None:
            return _FreeEquity(currency, None, ZERO)
        return _FreeEquity(currency, equity, market.committed(account_id, venue, currency))

    # ------------------------------------------------------------------ amends

    async def check_amend(self, market: MarketAccess, order: Order, instrument: Instrument,
                          rest: Decimal, price: Decimal | None,
                          filled_notional: Decimal) -> Verdict:
        """May the working leg `order` become one of `rest` (what is left to fill of the
        amended total) at `price` (its limit price; None: none)? `filled_notional` is
        what the lineage's legs have filled, at their prices. Asked by the amend before
        anything changes; the kill switch is the amend's own check.

        - A new limit price must be in the band around the reference price (PRICE_BAND;
          no reference: NO_REFERENCE_PRICE), also when the quantity shrinks: a
          fat-finger price is one whatever the size.
        - An amend that grows the order's remaining notional must keep the lineage (its
          fills plus the rest at the new price) within `max_order_notional`
          (MAX_NOTIONAL); otherwise a filled half plus an amend would pass the cap.
        - Only the exposure the amend *adds* needs free equity (INSUFFICIENT_EQUITY). The
          leg is itself among the working buys the free equity is net of, so a buy adds
          the new rest's notional less what the leg commits now; a sell commits nothing
          there, so it adds only the quantity it grows by beyond what it takes off the
          position (the signal's `adding`: new exposure for a margin or short account).
          A price-only change of a sell adds none.
        So a reduction (less quantity, same price) is never refused for notional or
        equity, whatever the equity (negative, or unknown): taking risk off must always
        be possible. Unknown equity does not refuse a growth either (a signal's check
        does not): the reason says it could not be checked."""
        reference: Decimal | None = None
        if price is not None and price != order.price:
            reference = await market.reference_price(order.venue, order.symbol)
            if reference is None or reference <= 0:
                return Verdict.deny(R.NO_REFERENCE_PRICE, f"no reference price for "
                                    f"{order.symbol}: the new price cannot be checked")
            deviation = abs(price - reference) / reference
            if deviation > self._s.price_band:
                return Verdict.deny(
                    R.PRICE_BAND, f"price: {price} is {deviation:.2%} from the reference "
                    f"{reference}; band {self._s.price_band:.2%}")
        # What each executes at, as for a signal: its limit price, a stop's trigger, what
        # a market order was expected at; else the reference.
        old_at = order.price or order.trigger_price or order.expected_price
        new_at = price or order.trigger_price or order.expected_price
        if old_at is None or new_at is None:
            reference = reference or await market.reference_price(order.venue, order.symbol)
            if reference is None or reference <= 0:
                return Verdict.deny(R.NO_REFERENCE_PRICE, f"no reference price for "
                                    f"{order.symbol} to value the amended order at")
            old_at, new_at = old_at or reference, new_at or reference
        before = order.remaining_quantity
        cap = self._s.max_order_notional
        if rest * new_at > before * old_at and filled_notional + rest * new_at > cap:
            return Verdict.deny(R.MAX_NOTIONAL, f"notional {filled_notional + rest * new_at} "
                                f"(filled {filled_notional}, then {rest} at {new_at}) above "
                                f"maximum {cap}")
        exposure = market.exposure(order.account_id, order.venue, order.symbol)
        room = ZERO  # what this leg may take off the position, beside the side's others
        if exposure.reduces(order.side):
            others = exposure.working(order.side) - before
            room = max(abs(exposure.position) - max(others, ZERO), ZERO)
        adding = rest - min(rest, room)
        if order.side is Side.BUY:
            committed_at = order.price if order.price is not None else order.expected_price
            added = adding * new_at - before * (committed_at or ZERO)
        else:
            added = (adding - (before - min(before, room))) * new_at
        if added <= 0:
            return Verdict.admit(f"adds no exposure ({added} of notional)")
        funds = await self._funds(market, order.account_id, order.venue, instrument)
        if funds.free is None:
            return Verdict.admit(f"adds {added} of notional; {funds.describe()}: the free "
                                 "equity could not be checked")
        if added > funds.free:
            return Verdict.deny(R.INSUFFICIENT_EQUITY, f"the amend adds {added} of notional "
                                f"exposure, more than the {funds.describe()}")
        return Verdict.admit(f"adds {added} of notional, within the {funds.describe()}")


class _FreeEquity(NamedTuple):
    """Equity and what working buys commit of it; the text is made only for a reason."""

    currency: str
    equity: Decimal | None
    committed: Decimal

    @property
    def free(self) -> Decimal | None:
        return None if self.equity is None else self.equity - self.committed

    def describe(self) -> str:
        if self.equity is None:
            return f"no {self.currency} equity to size against"
        if self.committed == ZERO:
            return f"{self.currency} equity {self.equity}"
        return (f"{self.currency} equity free after working orders {self.free} "
                f"(equity {self.equity}, working buys {self.committed})")


def _trigger_side(side: Side, trigger: Decimal, reference: Decimal) -> Verdict | None:
    """A buy stop triggers when the price rises to its trigger, a sell stop when it falls
    to it, so the trigger must be beyond the reference price on that side. One already
    crossed would fire at once: a different order from the one asked for (a market buy
    now, not a breakout buy), so it is refused rather than sent."""
    if (trigger > reference) if side is Side.BUY else (trigger < reference):
        return None
    return Verdict.deny(
        R.TRIGGER_WRONG_SIDE,
        f"trigger_price: {trigger} must be {'above' if side is Side.BUY else 'below'} the "
        f"reference price {reference} for a {side} stop; it would trigger at once")


_CANCELLABLE = frozenset({OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.HELD})


def beyond_reduce_only(orders: Iterable[Order], position: Callable[[str, str, str], Decimal]
                       ) -> Iterator[tuple[Order, str]]:
    """The working orders REDUCING must cancel, each with the reason: per account and
    symbol, reducing orders are kept oldest first while their remaining quantities fit in
    the position; every other order (one on the position's own side or on a flat symbol,
    or a reducing one beyond what is left of the position) could grow or flip it. Only
    orders the venue has (ACCEPTED, PARTIALLY_FILLED), or ordergate holds (HELD, an
    emulated stop: its cancel is local), are named: one still being sent is named at a
    later call, once it is."""
    groups: dict[tuple[str, str, str], list[Order]] = {}
    for order in orders:
        if not order.status.is_terminal:
            groups.setdefault((order.account_id, order.venue, order.symbol), []).append(order)
    for key, group in groups.items():
        held = position(*key)
        room = abs(held)
        for order in sorted(group, key=lambda o: o.created_at):
            reduces = held != 0 and (held > 0) == (order.side is Side.SELL)
            if reduces and order.remaining_quantity <= room:
                room -= order.remaining_quantity
                continue
            if order.status in _CANCELLABLE:
                why = ("would grow the position" if not reduces else
                       f"would take off more than the {room} left of the position")
                yield order, (f"trading state is REDUCING: this {order.side} of "
                              f"{order.remaining_quantity} {why} ({held}); cancelling it")
