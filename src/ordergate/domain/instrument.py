"""An instrument's trading rules, and rounding to them before an order leaves.

Rounding is always in the trader's safe direction: a quantity is truncated to the lot
(never more than asked for), a buy price is rounded down and a sell price up to the tick
(never a worse price than asked for). An order that rounding leaves below the minimum
quantity or notional is refused here rather than sent to be rejected by the venue.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation, localcontext

from ordergate.domain.values import Side


@dataclass(frozen=True, slots=True)
class Instrument:
    """Trading rules of one symbol at one venue. Step sizes are increments (0.01), not digits."""

    venue: str
    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal
    min_quantity: Decimal
    max_quantity: Decimal | None = None
    min_notional: Decimal = Decimal(0)
    min_price: Decimal | None = None
    max_price: Decimal | None = None

    def round_quantity(self, quantity: Decimal) -> Decimal:
        """Truncate to a whole number of lots."""
        return _to_step(quantity, self.lot_size, ROUND_FLOOR)

    def round_price(self, price: Decimal, side: Side) -> Decimal:
        """Round to the tick, down for a buy and up for a sell."""
        return _to_step(price, self.tick_size, ROUND_FLOOR if side is Side.BUY else ROUND_CEILING)

    def is_on_tick(self, price: Decimal) -> bool:
        return price % self.tick_size == 0

    def is_on_lot(self, quantity: Decimal) -> bool:
        return quantity % self.lot_size == 0

    def quantity_problem(self, quantity: Decimal) -> str | None:
        """Why this (already rounded) quantity cannot be sent, or None."""
        if quantity < self.min_quantity:
            return f"quantity {quantity} below minimum {self.min_quantity}"
        if self.max_quantity is not None and quantity > self.max_quantity:
            return f"quantity {quantity} above maximum {self.max_quantity}"
        return None

    def price_problem(self, price: Decimal) -> str | None:
        if self.min_price is not None and price < self.min_price:
            return f"price {price} below minimum {self.min_price}"
        if self.max_price is not None and price > self.max_price:
            return f"price {price} above maximum {self.max_price}"
        return None

    def notional_problem(self, quantity: Decimal, price: Decimal) -> str | None:
        notional = quantity * price
        if notional < self.min_notional:
            return f"notional {notional} below minimum {self.min_notional}"
        return None


def _to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    if step.as_tuple().digits == (1,):  # 0.01, 1, 100: quantize is exact and fast
        try:
            return value.quantize(step, rounding=rounding)
        except InvalidOperation:  # more digits than the context holds: the slow path
            pass
    # Enough precision for every digit of the quotient: the default 28 digits would round
    # a long input to nearest *before* the floor or ceiling, the wrong way for a trader.
    with localcontext() as ctx:
        ctx.prec = max(28, value.adjusted() - step.adjusted() + len(value.as_tuple().digits) + 2)
        steps = (value / step).to_integral_value(rounding=rounding)
        return (steps * step).quantize(step)
