"""Small closed vocabularies shared by signals, orders and venues.

They are `StrEnum`s so that they serialise to the exact strings a signal file, a journal
row or an audit line carries, and compare equal to those strings.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> Decimal:
        """+1 for a buy, -1 for a sell: a fill's effect on a position's signed quantity."""
        return ONE if self is Side.BUY else MINUS_ONE

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    GTD = "GTD"


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


ZERO = Decimal(0)
ONE = Decimal(1)
MINUS_ONE = Decimal(-1)
