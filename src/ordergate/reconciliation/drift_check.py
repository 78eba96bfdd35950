"""`DriftCheck`: does the venue agree with the journal and the positions?

Three comparisons, per venue, at start and every `reconciliation.interval_s`:
- every order the venue has open is one the journal knows and still follows; if not, it
  is `unknown_venue_order` (journal never saw it) or `order_state_mismatch` (journal has
  it finished);
- every order the journal has resting at the venue is open there, or the venue tells us
  how it ended (the fills missed while we were down are applied then, by trade ID); a
  venue that says it never heard of it is `order_missing_at_venue`;
- every asset's balance equals the sum of our positions held in it (`holdings.py`);
  otherwise `position_mismatch`.

A transport error is no verdict: that venue is simply checked again next time (and the
failure is reported to the supervisor, audited once per episode: a check that can never
read the venue is not skipped in silence). A balance
read races fills: an asset with an order still being sent is left to the next check, and
a mismatch is re-read after the venue's working orders are brought up to date and
reported only if the same difference is still there and every working order of that
asset could be read (one that cannot explains the difference as well as drift would).
An order the journal has finished but the open-orders list still shows is asked for
directly before it counts: that list can lag. And an order the list no longer shows but a
lookup still calls working settles nothing: one of the two answers is stale (found by the
chaos machine: three stale lookups of an order that had filled at the venue made its
fill look like a balance drift). Each drift is reported once, again only
if it changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal

from ordergate.clock import Clock
from ordergate.config import ReconciliationSettings
from ordergate.domain.instrument import Instrument
from ordergate.domain.order import Order, OrderStatus
from ordergate.events import ReconciliationDrift
from ordergate.pipeline.order_ledger import OrderLedger
from ordergate.pipeline.reconcile import Reconciler
from ordergate.reconciliation.holdings import held_assets, held_quantity
from ordergate.subscribers.positions import PositionTracker
from ordergate.supervision import RAISE_TROUBLES, Troubles
from ordergate.venues.base import OrderNotFound, OrderReport, VenueAdapter, VenueError

S = OrderStatus
# PENDING_UPDATE: an order being amended works at its venue until the venue says otherwise.
_RESTING = frozenset({S.ACCEPTED, S.PARTIALLY_FILLED, S.CANCEL_PENDING, S.PENDING_UPDATE})
_IN_FLIGHT = frozenset({S.PENDING, S.SUBMITTED})
Sides = tuple[Decimal, Decimal]  # (ours, the venue's)
_Key = tuple[str, str, str | None, str]  # venue, kind, account, subject


class DriftCheck:
    def __init__(self, settings: ReconciliationSettings, ledger: OrderLedger,
                 reconciler: Reconciler, positions: PositionTracker,
                 instruments: Mapping[str, Mapping[str, Instrument]], clock: Clock,
                 report: Callable[[ReconciliationDrift], None],
                 request_window_s: float = 0.0, troubles: Troubles | None = None) -> None:
        self._s = settings
        self._troubles = troubles or RAISE_TROUBLES
        self._request_window = timedelta(seconds=request_window_s)
        self._ledger = ledger
        self._reconciler = reconciler
        self._positions = positions
        self._instruments = instruments
        self._clock = clock
        self._report = report
        self._reported: dict[_Key, tuple[str, str]] = {}
        self._reported_fills: dict[str, Decimal] = {}
        self._listed: set[str] = set()  # our orders this run's open-orders list showed

    async def run(self, name: str, venue: VenueAdapter) -> list[ReconciliationDrift]:
        """Reconcile one venue; returns the drift reported by this run (new or changed)."""
        try:
            open_reports = await venue.fetch_open_orders()
        except VenueError as exc:
            self._troubles.venue_failed(name, "fetch_open_orders", exc)
            return []
        self._troubles.venue_ok(name, "fetch_open_orders")
        found: list[ReconciliationDrift] = []
        self._reported_fills = {r.client_order_id: r.filled_quantity for r in open_reports}
        seen = self._listed = await self._match_open_orders(name, venue, open_reports, found)
        await self._confirm_resting(name, venue, seen, found)
        await self._compare_balances(name, venue, found)
        return self._publish_changes(name, found)

    # ------------------------------------------------------------------ orders

    async def _match_open_orders(self, name: str, venue: VenueAdapter, reports: list[OrderReport],
                                 found: list[ReconciliationDrift]) -> set[str]:
        live = [o for o in self._ledger.live_orders() if o.venue == name]
        by_client = {o.client_order_id: o for o in live}
        by_venue = {o.venue_order_id: o for o in live if o.venue_order_id}
        journal = self._ledger.journal
        seen: set[str] = set()
        for report in reports:
            order = by_client.get(report.client_order_id) or (
                by_venue.get(report.venue_order_id) if report.venue_order_id else None)
            if order is not None:
                seen.add(order.client_order_id)
                if report.filled_quantity > order.filled_quantity:  # fills we have not seen
                    await self._reconciler.sync(venue, order, report)
                continue
            client_id = report.client_order_id or (
                journal.client_order_id_of(name, report.venue_order_id)
                if report.venue_order_id else None)
            status = journal.order_status(client_id) if client_id else None
            subject = client_id or f"venue order {report.venue_order_id}"
            theirs = (f"{report.status} {report.side or '?'} {report.filled_quantity}/"
                      f"{report.filled_quantity + report.remaining_quantity} {report.symbol}")
            if status is None:
                found.append(self._drift(name, None, "unknown_venue_order", subject, "none", theirs,
                                         f"{name} has an open order the journal never recorded"))
            elif await self._still_open(venue, report):
                found.append(self._drift(name, None, "order_state_mismatch", subject, status, theirs,
                                         f"the journal has this order {status}, {name} has it open"))
        return seen

    @staticmethod
    async def _still_open(venue: VenueAdapter, report: OrderReport) -> bool:
        """Asked directly, is an order the open-orders list shows really still working?"""
        try:
            answer = await venue.fetch_order(report.symbol, report.client_order_id,
                                             report.venue_order_id)
        except VenueError:
            return True  # no better answer than the list's
        return not answer.status.is_terminal

    async def _confirm_resting(self, name: str, venue: VenueAdapter, seen: set[str],
                               found: list[ReconciliationDrift]) -> None:
        for order in self._ledger.live_orders():
            if order.venue != name or order.client_order_id in seen or order.status not in _RESTING:
                continue
            # A venue's order queries can lag its matching engine right after a placement
            # (Binance -2013): "not found" is believed only past the request window.
            young = self._clock.now() < order.created_at + self._request_window
            if await self._refresh(venue, order) is False and not young:
                found.append(self._drift(
                    name, order.account_id, "order_missing_at_venue", order.client_order_id,
                    str(order.status), "not found",
                    f"the journal has this order {order.status}; {name} says it has no such order"))

    async def _refresh(self, venue: VenueAdapter, order: Order) -> bool | None:
        """Bring one order up to date. True: it is (all its fills applied); False: the
        venue says it has no such order; None: no answer, or its trades lag its status."""
        try:
            report = await venue.fetch_order(order.symbol, order.client_order_id,
                                             order.venue_order_id)
        except OrderNotFound:
            return False
        except VenueError as exc:
            self._troubles.venue_failed(venue.name, "fetch_order", exc, order.client_order_id)
            return None
        await self._reconciler.sync(venue, order, report)
        # Settled only if no answer of this run (a lagging replica may answer older than
        # the open-orders list did) shows fills we still lack.
        known = max(report.filled_quantity,
                    self._reported_fills.get(order.client_order_id, report.filled_quantity))
        if order.filled_quantity < known:
            return None
        # The list left it out, the lookup calls it working: one of the two answers is
        # stale (a list lagging a placement, or a lookup served by a replica behind a
        # fill), and a fill the lookup does not show would explain a balance difference.
        if order.status.is_working and order.client_order_id not in self._listed:
            return None
        return True

    # ------------------------------------------------------------------ balances

    async def _compare_balances(self, name: str, venue: VenueAdapter,
                                found: list[ReconciliationDrift]) -> None:
        assets = held_assets(self._instruments.get(name, {}), self._s.cash_currencies)
        # An order still being sent may have filled at the venue before its answer reaches
        # us: its asset is compared at the next check, not now.
        in_flight = {o.symbol for o in self._ledger.live_orders()
                     if o.venue == name and o.status in _IN_FLIGHT}
        assets = {a: symbols for a, symbols in assets.items() if in_flight.isdisjoint(symbols)}
        if not assets or not self._s.compare_balances:
            return
        for account in self._accounts(name):
            first = await self._differences(name, venue, account, assets)
            if not first:
                continue
            symbols = {s for asset in first for s in assets[asset]}
            unsettled: set[str] = set()
            for order in self._ledger.live_orders():
                if order.venue == name and order.symbol in symbols and order.status.is_working:
                    if await self._refresh(venue, order) is not True:
                        unsettled.add(order.symbol)
            second = await self._differences(name, venue, account, assets) or {}
            for asset, (ours, theirs) in sorted(second.items()):
                if first.get(asset) != (ours, theirs) or not unsettled.isdisjoint(assets[asset]):
                    continue  # a fill in flight, or an order we cannot read: no verdict
                found.append(self._drift(
                    name, account, "position_mismatch", asset, str(ours), str(theirs),
                    f"{name} holds {theirs} {asset} for account {account}; our positions in "
                    f"{', '.join(assets[asset])} sum to {ours}"))

    async def _differences(self, name: str, venue: VenueAdapter, account: str,
                           assets: dict[str, tuple[str, ...]]) -> dict[str, Sides] | None:
        try:
            balances = await venue.fetch_balances(account)
        except VenueError as exc:
            # No answer, or an account this venue does not serve: no verdict, reported.
            self._troubles.venue_failed(name, "fetch_balances", exc, account)
            return None
        self._troubles.venue_ok(name, "fetch_balances", account)
        tolerance = self._s.position_tolerance
        differences: dict[str, Sides] = {}
        for asset, symbols in assets.items():
            ours = held_quantity(self._positions, account, name, symbols)
            balance = balances.get(asset)
            theirs = balance.total if balance is not None else Decimal(0)
            if abs(theirs - ours) > tolerance:
                differences[asset] = (ours, theirs)
        return differences

    def _accounts(self, name: str) -> list[str]:
        held = {account for account, venue, _ in self._positions.positions if venue == name}
        return sorted(held.union(self._s.accounts))

    # ------------------------------------------------------------------ reporting


    def _drift(self, venue: str, account: str | None, kind: str, subject: str, ours: str,
               theirs: str, detail: str) -> ReconciliationDrift:
        return ReconciliationDrift(self._clock.now(), venue, account, kind, subject, ours,
                                   theirs, detail)

    def _publish_changes(self, name: str, found: list[ReconciliationDrift]) -> list[ReconciliationDrift]:
        current = {(name, d.kind, d.account_id, d.subject): d for d in found}
        for key in [k for k in self._reported if k[0] == name and k not in current]:
            del self._reported[key]  # resolved
        new = []
        for key, drift in current.items():
            if self._reported.get(key) != (drift.ours, drift.venues):
                self._reported[key] = (drift.ours, drift.venues)
                new.append(drift)
                self._report(drift)
        return new
