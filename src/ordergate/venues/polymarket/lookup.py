"""`OrderLookup`: what the venue says of an order now, from its record and its trades.

Apart from the adapter because reading an order back is more than one call, and every
question about an order (fetch, cancel, fills, open orders) needs the same rules:

- which order is meant: one followed, or one known only by the venue order ID the
  engine journaled (after a restart, or once it was dropped from memory); without an
  ID, `VenueOrderIdUnknown`, never a false "not found";
- the record alone is not enough: `GET /data/order/{id}` answers `null` for an order the
  venue does not hold (and for some closed ones), and what filled is in `/data/trades`;
  so the trades are read too, and only with neither (nor a terminal state remembered
  from this session) is it `OrderNotFound`;
- the trades are read per token since the order's creation at the venue, taken a minute
  early (`_TRADES_SKEW_S`), so a poll does not read the token's whole history again.

`reports.py` turns the JSON into reports; this module does the asking.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from py_clob_client.client import ClobClient
from py_clob_client.clob_types import OpenOrderParams, TradeParams

from ordergate.clock import Clock
from ordergate.domain.values import Side, TimeInForce
from ordergate.venues.base import OrderNotFound, OrderReport, TradeReport
from ordergate.venues.polymarket.client import ClobCaller
from ordergate.venues.polymarket.reports import (
    ZERO,
    Executions,
    Tracked,
    dec,
    executions_of,
    order_report,
    read_order_json,
)
from ordergate.venues.polymarket.settings import VenueOrderIdUnknown
from ordergate.venues.polymarket.tracking import TrackedOrders

_TRADES_SKEW_S = 60  # `after` is taken this much early: the venue's two clocks may round apart


class OrderLookup:
    """Reads orders and their trades for one adapter; keeps what the venue shows in
    `orders`, and the tokens traded in `held` (the balance reader's set)."""

    def __init__(self, name: str, client: ClobClient, call: ClobCaller, clock: Clock,
                 orders: TrackedOrders, held: set[str]) -> None:
        self.name = name
        self._client = client
        self._call = call
        self._clock = clock
        self._orders = orders
        self._held = held

    def adopt(self, tracked: Tracked) -> None:
        """The venue knows this order: follow it, and read its token's balance."""
        self._orders.adopt(tracked)
        self._held.add(tracked.symbol)

    def resolve(self, symbol: str, client_order_id: str, venue_order_id: str | None) -> Tracked:
        """The order to ask about: one followed, or, known only by its venue order ID (the
        engine's journal has it), a new record kept once the venue shows the order."""
        self._orders.evict()
        tracked = self._orders.by_cid.get(client_order_id)
        if tracked is not None and venue_order_id in (None, tracked.venue_order_id, tracked.alias):
            return tracked
        if venue_order_id is not None:
            known = self._orders.by_oid.get(venue_order_id)
            if known is not None:
                return known
            return Tracked(
                client_order_id=client_order_id,
                venue_order_id=venue_order_id,
                symbol=symbol,
                side=Side.BUY,  # corrected from the venue's answer
                quantity=ZERO,
                price=ZERO,
                time_in_force=TimeInForce.GTC,
                acknowledged=True,
            )
        raise VenueOrderIdUnknown(
            f"{self.name}: no venue order id known for {client_order_id}; pass it, or call "
            "order_id_for(request) with the original request"
        )

    async def _get_order_json(self, oid: str) -> dict[str, Any] | None:
        raw = await self._call(f"order {oid}", partial(self._client.get_order, oid))
        if isinstance(raw, dict) and raw.get("id"):
            return raw
        return None  # Polymarket's answer for an order it does not hold: null / empty

    async def read(self, tracked: Tracked) -> tuple[OrderReport, bool]:
        """The order's report from its record and its trades, and whether it is final."""
        raw = await self._get_order_json(tracked.venue_order_id)
        if raw is not None:
            read_order_json(tracked, raw)
        ex = Executions()
        if raw is None or dec(raw.get("size_matched") or 0) > 0:
            ex = executions_of(tracked, await self._trades(tracked.symbol, tracked.created_at))
        if raw is None and not ex.seen:
            if tracked.terminal is not None:
                return tracked.terminal, True
            raise OrderNotFound(
                f"{self.name}: the venue has no order {tracked.venue_order_id} "
                f"({tracked.client_order_id}) and no trades of it"
            )
        report, final = order_report(self.name, tracked, raw, ex, self._clock.now())
        self.adopt(tracked)  # the venue knows it
        if final and report.status.is_terminal:
            self._orders.finish(tracked, report)
        return report, final

    async def fills(self, tracked: Tracked) -> list[TradeReport]:
        """The order's fills: its CONFIRMED trades only (`reports.py`)."""
        ex = executions_of(tracked, await self._trades(tracked.symbol, tracked.created_at))
        if ex.seen:
            self.adopt(tracked)
        return ex.booked

    async def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Every open order, its filled quantity counted as `read` counts it (its trades
        are read, per token, for the orders that have matched)."""
        self._orders.evict()
        params = OpenOrderParams(asset_id=symbol) if symbol else None
        rows = [r for r in await self._call("open orders", partial(self._client.get_orders, params))
                or [] if isinstance(r, dict)]
        since: dict[str, int | None] = {}  # token -> the oldest matched order's creation
        for r in rows:
            if dec(r.get("size_matched") or 0) > 0:
                token, created = str(r.get("asset_id", "")), str(r.get("created_at") or "")
                at = int(created) if created.isdigit() else None
                known = since.get(token, at)
                since[token] = None if at is None or known is None else min(at, known)
        trades = {token: await self._trades(token, since[token]) for token in sorted(since)}
        reports: list[OrderReport] = []
        now = self._clock.now()
        for raw in rows:
            oid = str(raw.get("id", ""))
            tracked = self._orders.by_oid.get(oid)
            if tracked is None:
                tracked = Tracked(
                    client_order_id="",  # not placed by this session: unknown
                    venue_order_id=oid,
                    symbol=str(raw.get("asset_id", "")),
                    side=Side.BUY,
                    quantity=ZERO,
                    price=ZERO,
                    time_in_force=TimeInForce.GTC,
                    acknowledged=True,
                )
            ex = executions_of(tracked, trades.get(tracked.symbol, []))
            reports.append(order_report(self.name, tracked, raw, ex, now)[0])
        return reports

    async def _trades(self, symbol: str, after: int | None = None) -> list[dict[str, Any]]:
        """The account's trades in one token; with `after` (the venue's creation time of
        the order asked about) only those since, so a poll does not read the token's whole
        history again."""
        since = None if after is None else max(after - _TRADES_SKEW_S, 0)
        params = TradeParams(asset_id=symbol, after=since)
        rows = await self._call(f"trades of {symbol}", partial(self._client.get_trades, params))
        return [r for r in rows or [] if isinstance(r, dict)]
