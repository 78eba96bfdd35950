"""A fill: one execution reported by a venue, identified by the venue's trade ID within
its symbol (Binance numbers trades per symbol).

(venue, symbol, trade ID) is the key that makes fills idempotent: a fill seen twice (a
replayed report, a poll that overlaps the last one, a restart) is applied once.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ordergate.domain.values import ZERO, Liquidity, Side
from ordergate.records import record


def base_asset(symbol: str) -> str | None:
    """The asset a position in `symbol` is counted in, when the venue can charge a
    commission in it: `BTC` for the spot symbol `BTC/USDT`; None otherwise.

    Symbols are ccxt-unified everywhere (the simulated venue uses the same form), so the
    base is what precedes the "/". A derivative (`BTC/USDT:USDT`, `BTC/USD:BTC`) has
    None: its position is counted in contracts and its fees come off the settlement
    balance, never off the position, even when the settle asset is the base. A symbol
    without "/" (a Polymarket token ID) has None too: fees there are in the collateral.
    """
    base, slash, rest = symbol.partition("/")
    if not slash or not base or not rest or ":" in rest:
        return None
    return base


@record
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

    @property
    def fee_in_base(self) -> Decimal:
        """The commission paid out of the traded asset itself (spot Binance charges a buy's
        commission in the base: buying 0.7 BTC for a 0.0007 BTC fee delivers 0.6993), or
        zero when the fee is in another currency."""
        base = base_asset(self.symbol)
        return self.fee if base is not None and self.fee_currency == base else ZERO
