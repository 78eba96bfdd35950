"""A position, built from fills only.

Average entry follows the usual rule: adding to a position moves the average, reducing
it realises PnL against the average, and a fill that crosses zero closes the old
position and opens the opposite one at the fill price.

The quantity is what the account holds. A commission charged in the base asset (spot
Binance takes a buy's commission out of the BTC bought) is booked as if the account had
sold the fee quantity at the fill's price: the position shrinks by the fee (a buy of
0.7 with 0.0007 BTC commission leaves 0.6993; a sell paying its commission in the base
reduces by quantity + fee), the average entry follows the usual rule for that sale
(unchanged while reducing), and the sale realises (price - average entry) x fee like any
other. The commission itself is a cost kept in `fees` under its currency, never in the
realised PnL, so realised PnL stays gross of every fee: once flat, the quote cash that
changed hands equals `realized_pnl` minus the sum of each base-asset fee times its fill
price.

Fees are kept per currency (`{"BTC": ..., "USDT": ...}`): amounts in different currencies
are never added together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ordergate.domain.fill import Fill
from ordergate.domain.values import ZERO


@dataclass(slots=True)
class Position:
    account_id: str
    venue: str
    symbol: str
    quantity: Decimal = ZERO
    average_entry: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees: dict[str, Decimal] = field(default_factory=dict)
    """Commission paid, per currency."""
    fill_count: int = field(default=0)

    @property
    def is_flat(self) -> bool:
        return self.quantity == 0

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        return (mark - self.average_entry) * self.quantity

    def apply(self, fill: Fill) -> Decimal:
        """Apply one fill; return the PnL it realised (including that of a base-asset
        commission, booked as a sale of the fee at the fill price)."""
        realized = self._trade(fill.quantity * fill.side.sign, fill.price)
        realized += self._trade(-fill.fee_in_base, fill.price)
        self.realized_pnl += realized
        if fill.fee:
            self.fees[fill.fee_currency] = self.fees.get(fill.fee_currency, ZERO) + fill.fee
        self.fill_count += 1
        return realized

    def _trade(self, signed: Decimal, price: Decimal) -> Decimal:
        """Move the quantity by `signed` at `price`; return the PnL realised."""
        if signed == 0:
            return ZERO
        old = self.quantity
        new = old + signed
        realized = ZERO
        if old == 0 or (old > 0) == (signed > 0):
            self.average_entry = (self.average_entry * old + price * signed) / new
        else:
            closed = min(abs(old), abs(signed))
            direction = 1 if old > 0 else -1
            realized = (price - self.average_entry) * closed * direction
            if new == 0:
                self.average_entry = ZERO
            elif (new > 0) != (old > 0):
                self.average_entry = price
        self.quantity = new
        return realized
