"""What trading did: a fill (`OrderFilled`), slippage beyond tolerance, and the positions
the fills build (opened, changed, closed)."""

from __future__ import annotations

from decimal import Decimal

from ordergate.domain.fill import Fill
from ordergate.events.base import Event
from ordergate.records import record


@record
class OrderFilled(Event):
    """A partial or full fill. `remaining` is what is left of the order after it."""

    fill: Fill
    signal_id: str
    filled_quantity: Decimal
    remaining: Decimal

    @property
    def is_partial(self) -> bool:
        return self.remaining > 0


@record
class SlippageExceeded(Event):
    client_order_id: str
    signal_id: str
    expected_price: Decimal
    average_price: Decimal
    slippage: Decimal
    tolerance: Decimal


@record
class PositionEvent(Event):
    account_id: str
    venue: str
    symbol: str
    quantity: Decimal
    average_entry: Decimal
    realized_pnl: Decimal
    client_order_id: str
    trade_id: str


@record
class PositionOpened(PositionEvent):
    pass


@record
class PositionChanged(PositionEvent):
    pass


@record
class PositionClosed(PositionEvent):
    """`realized_pnl` is the position's total realised PnL at the moment it went flat."""
