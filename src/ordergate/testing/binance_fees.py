"""What a trade on the Binance emulator's market (`binance_market.py`) costs its account,
and in which asset: Binance spot's default (the buyer pays in the asset received, the
seller in the quote, at the maker or taker rate), or, with the account's "use BNB to pay
for fees" (Binance's BNB burn, `pay_fees_in_bnb`) and enough BNB free, the quote value
25% off in BNB at the BNB/quote mid. Apart from the market so that what a trade costs is
read in one place, apart from the matching that charges it."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from ordergate.testing.binance_records import _EIGHT, ZERO, SymbolSpec, Wallet

if TYPE_CHECKING:
    from ordergate.testing.binance_market import BinanceMarket

BNB = "BNB"
BNB_DISCOUNT = Decimal("0.25")  # Binance spot: commission paid in BNB costs 25% less


def trade_commission(market: BinanceMarket, spec: SymbolSpec, side: str, price: Decimal,
                     qty: Decimal, quote_qty: Decimal, rate: Decimal,
                     wallet: Wallet) -> tuple[Decimal, str]:
    """What a trade costs, in which asset. Binance's default: the buyer pays in the asset
    received (base), the seller in the quote. With BNB paying the fees (`pay_fees_in_bnb`,
    Binance's "BNB burn") and enough BNB free, the commission is the quote value less
    the 25% discount, in BNB at the BNB/quote mid (the trade's price on BNB's own
    symbols): a BTCUSDT trade then charges BNB, an asset it neither buys nor sells."""
    if wallet.pay_fees_in_bnb:
        bnb_price = price if spec.base == BNB else market._mid(f"{BNB}{spec.quote}")
        if bnb_price is not None and bnb_price > 0:
            fee = (quote_qty * rate * (1 - BNB_DISCOUNT) / bnb_price).quantize(_EIGHT)
            if fee > 0 and wallet.free.get(BNB, ZERO) >= fee:
                return fee, BNB
    if side == "BUY":
        return (qty * rate).quantize(_EIGHT), spec.base
    return (quote_qty * rate).quantize(_EIGHT), spec.quote
