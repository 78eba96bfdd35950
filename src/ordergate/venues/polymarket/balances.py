"""Balances: USDC and outcome tokens, and what open orders reserve of them.

The CLOB's `/balance-allowance` answers one asset per call (USDC, or one conditional
token), in micro-units, and says nothing of reservations: `used` is computed here from
the account's open orders (a buy reserves price x remaining size of USDC, a sell its
remaining tokens), and `free` is the balance less that.

Which tokens are read: with every market loaded there are far too many to read them all,
so only those the adapter knows of are: the configured markets' tokens, those of orders
it follows, those with open orders, and `held`: tokens it traded, and those the engine
says its positions are in (`watch_symbols`, at start: a token held from before a restart
must not read as 0). A held token that reads 0 with no order of it followed is no longer
asked for: absent reads as 0 to the drift check, the same answer, so a position the
venue does not hold is still found, and trading the token again brings it back.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from decimal import Decimal
from functools import partial
from typing import Any

from py_clob_client.client import ClobClient
from py_clob_client.clob_types import AssetType, BalanceAllowanceParams

from ordergate.venues.base import Balance
from ordergate.venues.polymarket.client import ClobCaller
from ordergate.venues.polymarket.reports import COLLATERAL, ZERO, dec
from ordergate.venues.polymarket.signing import MICRO


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


class BalanceReader:
    def __init__(self, client: ClobClient, call: ClobCaller, signature_type: int) -> None:
        self._client = client
        self._call = call
        self._signature_type = signature_type
        self.held: set[str] = set()
        """Tokens traded here or held per the journal (module docstring)."""

    def _balance(self, asset_type: str, token_id: str | None = None) -> Any:
        params = BalanceAllowanceParams(asset_type=asset_type, token_id=token_id,
                                        signature_type=self._signature_type)
        return self._client.get_balance_allowance(params)

    async def read(self, configured: Collection[str], followed: Collection[str]) -> dict[str, Balance]:
        """USDC and every token known of (module docstring), with open orders' reservations."""
        open_rows = await self._call("open orders", partial(self._client.get_orders, None))
        used_usdc, used_tokens = reservations(open_rows or [])
        raw_usdc = await self._call("balance", partial(self._balance, AssetType.COLLATERAL))
        total = dec(raw_usdc.get("balance") or 0) / MICRO
        balances = {COLLATERAL: Balance(COLLATERAL, total - used_usdc, used_usdc)}
        for token in sorted({*configured, *self.held, *followed, *used_tokens}):
            raw_token = await self._call(
                f"balance of {token}", partial(self._balance, AssetType.CONDITIONAL, token)
            )
            amount = dec(raw_token.get("balance") or 0) / MICRO
            used = used_tokens.get(token, ZERO)
            if amount or used:
                balances[token] = Balance(token, amount - used, used)
            elif token not in followed:
                self.held.discard(token)  # nothing there: stop asking (module docstring)
        return balances
