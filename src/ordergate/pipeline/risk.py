"""The risk manager: should this trade be taken, and how big?

Checks run cheapest first. A signal without a quantity is sized so that the distance
from entry to stop risks `risk_per_trade` of equity; a signal without a stop gets one
`default_stop_distance` away. The trading state is the kill switch: HALTED refuses
everything, REDUCING admits only orders that shrink an existing position.
"""

from __future__ import annotations

from decimal import Decimal

from ordergate.config import RiskSettings
from ordergate.domain.values import Side
from ordergate.pipeline.chain import SignalContext, Verdict
from ordergate.pipeline.reasons import ReasonCode as R

TradingState = str  # "ACTIVE" | "REDUCING" | "HALTED"


class RiskManager:
    name = "risk"

    def __init__(self, settings: RiskSettings) -> None:
        self._s = settings
        self.trading_state: TradingState = settings.trading_state

    async def handle(self, ctx: SignalContext) -> Verdict:
        signal, market = ctx.signal, ctx.market
        if self.trading_state == "HALTED":
            return Verdict.deny(R.TRADING_HALTED, "trading state is HALTED: no orders leave")
        position = market.position_quantity(signal.account_id, signal.venue, signal.symbol)
        reduces = position != 0 and (position > 0) == (signal.side is Side.SELL)
        if self.trading_state == "REDUCING":
            if not reduces:
                return Verdict.deny(
                    R.REDUCE_ONLY, f"trading state is REDUCING and position is {position}: "
                    f"a {signal.side} would not reduce it"
                )
            if signal.quantity is not None and signal.quantity > abs(position):
                return Verdict.deny(
                    R.REDUCE_ONLY, f"quantity: {signal.quantity} exceeds the position {abs(position)}"
                )

        reference = await market.reference_price(signal.venue, signal.symbol)
        if reference is None or reference <= 0:
            return Verdict.deny(R.NO_REFERENCE_PRICE, f"no reference price for {signal.symbol}")
        ctx.reference_price = reference
        entry = signal.limit_price if signal.limit_price is not None else reference
        if signal.limit_price is not None:
            deviation = abs(signal.limit_price - reference) / reference
            if deviation > self._s.price_band:
                return Verdict.deny(
                    R.PRICE_BAND, f"limit_price: {signal.limit_price} is {deviation:.2%} from the "
                    f"reference {reference}; band {self._s.price_band:.2%}"
                )

        verdict = self._check_stops(ctx, entry)
        if verdict is not None:
            return verdict
        if not reduces and position == 0:
            open_count = market.open_position_count(signal.account_id)
            if open_count >= self._s.max_open_positions:
                return Verdict.deny(
                    R.MAX_POSITIONS, f"{open_count} positions open, limit {self._s.max_open_positions}"
                )
        return await self._size(ctx, entry, reduces, position)

    def _check_stops(self, ctx: SignalContext, entry: Decimal) -> Verdict | None:
        signal = ctx.signal
        buying = signal.side is Side.BUY
        stop = signal.stop_loss
        if stop is None:
            distance = entry * self._s.default_stop_distance
            stop = entry - distance if buying else entry + distance
        elif (stop < entry) != buying:
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

    async def _size(
        self, ctx: SignalContext, entry: Decimal, reduces: bool, position: Decimal
    ) -> Verdict:
        signal, instrument = ctx.signal, ctx.instrument
        assert instrument is not None and ctx.stop_loss is not None
        cap = self._s.max_order_notional
        if signal.quantity is not None:
            quantity = signal.quantity
            how = f"quantity {quantity} from the signal"
        elif self.trading_state == "REDUCING" and reduces:
            quantity = abs(position)
            how = f"quantity {quantity} closes the position (REDUCING)"
        else:
            currency = self._s.equity_currency or instrument.quote
            equity = await ctx.market.equity(signal.account_id, signal.venue, currency)
            if equity is None or equity <= 0:
                return Verdict.deny(R.NO_EQUITY, f"no {currency} equity to size against")
            at_risk = equity * self._s.risk_per_trade
            quantity = instrument.round_quantity(
                min(at_risk / abs(entry - ctx.stop_loss), cap / entry)
            )
            if quantity <= 0 or instrument.quantity_problem(quantity):
                return Verdict.deny(
                    R.SIZE_TOO_SMALL, f"sized quantity {quantity} is below the instrument minimum"
                )
            how = (f"sized {quantity}: {self._s.risk_per_trade:.2%} of equity {equity} "
                   f"over stop distance {abs(entry - ctx.stop_loss)}")
        notional = quantity * entry
        if notional > cap:
            return Verdict.deny(R.MAX_NOTIONAL, f"notional {notional} above maximum {cap}")
        ctx.quantity = quantity
        return Verdict.admit(f"{how}; reference {ctx.reference_price}; stop {ctx.stop_loss}")
