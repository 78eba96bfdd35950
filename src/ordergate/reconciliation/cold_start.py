"""`ColdStart`: an empty journal takes over what the venue already holds.

Without it an engine whose journal was lost (or that starts on an account that already
trades) would believe it holds nothing: it would size against a flat position, let the
REDUCING switch do nothing, and never follow orders still working at the venue. So, on a
start with an empty journal (`reconciliation.cold_start = "adopt"`), for each venue:

1. every open order is journaled as ours (owned by the first of `reconciliation.accounts`,
   signal ID `adopted:<client order ID>`), brought up to date with its fills, and followed
   like any other (the remainder policy and good-till-date apply to it too);
2. every asset balance that the positions built from those fills do not explain is
   adopted as a position (`adopted_positions` in the journal), marked at the venue's mid,
   on the first symbol (sorted) based on that asset.

Adoption is committed in one transaction: a crash half-way leaves the journal empty,
and the next start adopts again. A venue that cannot be read is reported as drift
(`cold_start_incomplete`), so the engine does not trade on a picture it never got.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal

from ordergate.bus import EventBus
from ordergate.clock import Clock
from ordergate.config import ReconciliationSettings
from ordergate.domain.fill import Fill
from ordergate.domain.instrument import Instrument
from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.values import ZERO, Liquidity, OrderType, Side, TimeInForce
from ordergate.events import OrderAdopted, PositionAdopted, ReconciliationDrift
from ordergate.pipeline.order_ledger import OrderLedger
from ordergate.pipeline.reconcile import Reconciler
from ordergate.reconciliation.holdings import held_assets, held_quantity
from ordergate.subscribers.positions import PositionTracker
from ordergate.venues.base import OrderReport, VenueAdapter, VenueError

S = OrderStatus


def adoption_fill(venue: str, account_id: str, symbol: str, quantity: Decimal, mark: Decimal,
                  quote: str, ts: datetime) -> Fill:
    """An adopted holding as the one fill that would have built it (never journaled as a
    fill: it lives in `adopted_positions`)."""
    return Fill(f"adopted:{venue}:{account_id}:{symbol}", "adopted", account_id, venue, symbol,
                Side.BUY if quantity > 0 else Side.SELL, mark, abs(quantity), ZERO, quote,
                Liquidity.MAKER, ts)


class ColdStart:
    def __init__(self, settings: ReconciliationSettings, ledger: OrderLedger,
                 reconciler: Reconciler, positions: PositionTracker, bus: EventBus,
                 instruments: Mapping[str, Mapping[str, Instrument]], clock: Clock,
                 report: Callable[[ReconciliationDrift], None]) -> None:
        self._s = settings
        self._ledger = ledger
        self._reconciler = reconciler
        self._positions = positions
        self._bus = bus
        self._instruments = instruments
        self._clock = clock
        self._report = report

    def restore(self) -> int:
        """Warm start: put the holdings adopted at the first start back under the positions
        (the journaled fills are replayed on top of them)."""
        rows = self._ledger.journal.adopted_positions()
        instruments = self._instruments
        for row in rows:
            instrument = instruments.get(row["venue"], {}).get(row["symbol"])
            quote = instrument.quote if instrument is not None else ""
            self._positions.restore(adoption_fill(
                row["venue"], row["account_id"], row["symbol"], Decimal(row["quantity"]),
                Decimal(row["mark"]), quote, datetime.fromisoformat(row["ts"])))
        return len(rows)

    async def adopt(self, venues: Mapping[str, VenueAdapter]) -> None:
        for name, venue in venues.items():
            try:
                await self._adopt_orders(name, venue, await venue.fetch_open_orders())
                await self._bus.drain()
                await self._adopt_balances(name, venue)
            except VenueError as exc:
                self._report(ReconciliationDrift(
                    self._clock.now(), name, None, "cold_start_incomplete", name, "empty journal",
                    "unreadable", f"cold start could not read {name} ({exc}): what it holds "
                    "is unknown"))
        self._ledger.journal.commit()

    async def _adopt_orders(self, name: str, venue: VenueAdapter, reports: list[OrderReport]) -> None:
        for report in reports:
            if report.side is None:
                self._report(ReconciliationDrift(
                    self._clock.now(), name, None, "unknown_venue_order",
                    report.client_order_id or f"venue order {report.venue_order_id}", "none",
                    str(report.status), f"{name} did not say the side of this open order: "
                    "it cannot be adopted"))
                continue
            order = self._order_from(name, report, report.side)
            if not self._ledger.open(order):
                continue  # already journaled (two reports of one order)
            self._ledger.transition(order, S.SUBMITTED, f"adopted at cold start: open at {name}, "
                                    "not in the journal")
            await self._reconciler.sync(venue, order, report)
            self._bus.publish(OrderAdopted(self._clock.now(), order.client_order_id,
                                           order.signal_id, name, order.symbol, order.status,
                                           order.quantity, order.filled_quantity))
            if not order.status.is_terminal:
                self._reconciler.follow(venue, order)

    def _order_from(self, name: str, report: OrderReport, side: Side) -> Order:
        client_id = report.client_order_id or f"adopted-{report.venue_order_id}"
        return Order(
            client_id, f"adopted:{client_id}", "adopted", self._s.accounts[0], name,
            report.symbol, side, report.order_type or OrderType.LIMIT,
            report.filled_quantity + report.remaining_quantity, report.price, TimeInForce.GTC,
            self._clock.now(), venue_order_id=report.venue_order_id,
            trigger_price=report.trigger_price)

    async def _adopt_balances(self, name: str, venue: VenueAdapter) -> None:
        instruments = self._instruments.get(name, {})
        assets = held_assets(instruments, self._s.cash_currencies)
        if not assets:
            return
        for account in self._s.accounts:
            try:
                balances = await venue.fetch_balances(account)
            except VenueError as exc:
                if not exc.retryable:
                    continue  # an account this venue does not serve
                raise
            for asset, symbols in sorted(assets.items()):
                balance = balances.get(asset)
                held = balance.total if balance is not None else ZERO
                opening = held - held_quantity(self._positions, account, name, symbols)
                if abs(opening) > self._s.position_tolerance:
                    await self._adopt_position(name, venue, account, instruments[symbols[0]], opening)

    async def _adopt_position(self, name: str, venue: VenueAdapter, account: str,
                              instrument: Instrument, quantity: Decimal) -> None:
        symbol, now = instrument.symbol, self._clock.now()
        try:
            mark = (await venue.fetch_ticker(symbol)).mid
        except VenueError:
            mark = ZERO
        self._ledger.journal.record_adopted_position(name, account, symbol, quantity, mark, now)
        self._positions.restore(adoption_fill(name, account, symbol, quantity, mark,
                                              instrument.quote, now))
        self._bus.publish(PositionAdopted(now, account, name, symbol, quantity, mark))
