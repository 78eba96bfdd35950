"""Which balances are positions.

A spot position in `BTC/USDT` is held as a balance of BTC, so the venue's balance of an
asset should equal the sum of our positions in every symbol based on it, less what other
symbols' fills paid in it as commission (BNB, when Binance charges a BTC/USDT trade's fee
in BNB: `PositionTracker.fees_paid_in`). Cash (the quote currencies,
`reconciliation.cash_currencies`) is not a position, and neither is anything no loaded
instrument is based on. Derivatives (`BTC/USDT:USDT`) are held as contracts, not
balances, and are left out of the comparison.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal

from ordergate.domain.fill import base_asset
from ordergate.domain.instrument import Instrument
from ordergate.domain.values import ZERO
from ordergate.subscribers.positions import PositionTracker


def held_assets(instruments: Mapping[str, Instrument],
                cash: Collection[str]) -> dict[str, tuple[str, ...]]:
    """Asset -> the symbols whose positions are held in it, sorted (deterministic)."""
    assets: dict[str, list[str]] = {}
    for symbol in sorted(instruments):
        base = instruments[symbol].base
        if ":" not in symbol and base not in cash:
            assets.setdefault(base, []).append(symbol)
    return {asset: tuple(symbols) for asset, symbols in assets.items()}


def held_quantity(positions: PositionTracker, account_id: str, venue: str,
                  symbols: tuple[str, ...]) -> Decimal:
    """What we should hold of one asset: our positions in the symbols based on it (from
    `held_assets`, so all of them spot and based on that asset), less the commission
    other symbols' fills paid in it."""
    held = sum((positions.quantity(account_id, venue, s) for s in symbols), ZERO)
    asset = base_asset(symbols[0]) if symbols else None
    if asset is not None:
        held -= positions.fees_paid_in(account_id, venue, asset)
    return held
