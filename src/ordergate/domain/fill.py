"""A fill: one execution reported by a venue, identified by the venue's trade ID.

The trade ID is the key that makes fills idempotent: a fill seen twice (a replayed
report, a poll that overlaps the last one, a restart) is applied once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ordergate.domain.values import Liquidity, Side


@dataclass(frozen=True, slots=True)
class Fill:
    client_order_id: str
    trade_id: str
    account_id: str
    venue: str
    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_currency: str
    liquidity: Liquidity
    ts: datetime

    @property
    def notional(self) -> Decimal:
        return self.price * self.quantity
