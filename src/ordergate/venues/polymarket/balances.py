"""Balances: USDC and outcome tokens, and what open orders reserve of them.

The CLOB's `/balance-allowance` answers one asset per call (USDC, or one conditional
token), in micro-units, and says nothing of reservations: `used` is computed here from
the account's open orders (a buy reserves price x remaining size of USDC, a sell its
remaining tokens), and `free` is the balance less that.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ordergate.venues.polymarket.reports import ZERO, dec


def reservations(open_rows: Iterable[dict[str, Any]]) -> tuple[Decimal, dict[str, Decimal]]:
    """(USDC reserved by open buys, token -> shares reserved by open sells)."""
    used_usdc = ZERO
    used_tokens: dict[str, Decimal] = {}
    for raw in open_rows:
        remaining = dec(raw.get("original_size") or 0) - dec(raw.get("size_matched") or 0)
        if str(raw.get("side", "")).upper() == "BUY":
            used_usdc += remaining * dec(raw.get("price") or 0)
        else:
            token = str(raw.get("asset_id", ""))
            used_tokens[token] = used_tokens.get(token, ZERO) + remaining
    return used_usdc, used_tokens
