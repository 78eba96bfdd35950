"""`MarketRules`: the outcome tokens as instruments, their tick sizes and neg-risk flags.

Every outcome token of a market is one instrument; the symbol is the token ID. The tick
size is the market's `minimum_tick_size`, which the venue changes as a price nears 0 or
1: it is read when the markets load, re-read on a schedule, and always re-read (the
client's cache bypassed) just before an order is signed. On a reload the instruments are
*replaced*, not merged: a long run would otherwise keep every market it ever saw; only
the tokens of orders still followed are kept beyond what the venue lists.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from decimal import Decimal
from functools import partial
from typing import Any

from loguru import logger
from py_clob_client.client import ClobClient

from ordergate.domain.instrument import Instrument
from ordergate.venues.polymarket.client import ClobCaller
from ordergate.venues.polymarket.reports import COLLATERAL, ONE, dec
from ordergate.venues.polymarket.signing import LOT

END_CURSOR = "LTE="


class MarketRules:
    def __init__(self, name: str, client: ClobClient, call: ClobCaller,
                 condition_ids: tuple[str, ...]) -> None:
        self.name = name
        self._client = client
        self._call = call
        self._condition_ids = condition_ids
        self.instruments: dict[str, Instrument] = {}
        self.configured: set[str] = set()
        """The outcome tokens of the configured markets (`condition_ids`)."""
        self._neg_risk: dict[str, bool] = {}

    async def load(self, keep: Collection[str]) -> dict[str, Instrument]:
        """The configured markets, or every active market with an order book."""
        markets: list[dict[str, Any]] = []
        if self._condition_ids:
            for cid in self._condition_ids:
                market = await self._call(f"market {cid}", partial(self._client.get_market, cid))
                if isinstance(market, dict):
                    markets.append(market)
        else:
            cursor = "MA=="
            while cursor != END_CURSOR:
                page = await self._call("markets", partial(self._client.get_markets, cursor))
                markets.extend(
                    m for m in page.get("data", [])
                    if m.get("enable_order_book") and m.get("active") and not m.get("closed")
                )
                cursor = page.get("next_cursor") or END_CURSOR
        instruments: dict[str, Instrument] = {}
        neg_risk: dict[str, bool] = {}
        for market in markets:
            tick = dec(market["minimum_tick_size"])
            min_size = dec(market.get("minimum_order_size") or 0)
            for token in market.get("tokens", []):
                token_id = str(token["token_id"])
                if not token_id:
                    continue
                neg_risk[token_id] = bool(market.get("neg_risk", False))
                instruments[token_id] = self._instrument(token_id, tick, min_size)
        self.instruments = {t: i for t, i in self.instruments.items() if t in keep} | instruments
        self._neg_risk = {t: v for t, v in self._neg_risk.items() if t in keep} | neg_risk
        if self._condition_ids:
            self.configured = set(instruments)
        return dict(self.instruments)

    def _instrument(self, token_id: str, tick: Decimal, min_size: Decimal) -> Instrument:
        return Instrument(
            venue=self.name,
            symbol=token_id,
            base=token_id,
            quote=COLLATERAL,
            tick_size=tick,
            lot_size=LOT,
            min_quantity=max(min_size, LOT),
            min_price=tick,
            max_price=ONE - tick,
        )

    async def fresh_tick(self, token_id: str) -> Decimal:
        """The token's tick size straight from the venue (the client's cache bypassed);
        the instrument is updated if it changed."""

        def read() -> str:
            self._client.clear_tick_size_cache(token_id)
            return str(self._client.get_tick_size(token_id))

        tick = dec(await self._call(f"tick size of {token_id}", read))
        known = self.instruments.get(token_id)
        if known is None:
            self.instruments[token_id] = self._instrument(token_id, tick, LOT)
        elif known.tick_size != tick:
            logger.info(
                "{}: tick size of {} changed {} -> {}", self.name, token_id, known.tick_size, tick
            )
            self.instruments[token_id] = dataclasses.replace(
                known, tick_size=tick, min_price=tick, max_price=ONE - tick
            )
        return tick

    async def neg_risk_of(self, token_id: str) -> bool:
        if token_id not in self._neg_risk:
            value = await self._call(
                f"neg-risk of {token_id}", partial(self._client.get_neg_risk, token_id)
            )
            self._neg_risk[token_id] = bool(value)
        return self._neg_risk[token_id]
