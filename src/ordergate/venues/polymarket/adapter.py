"""`PolymarketVenue`: the `VenueAdapter` for Polymarket's CLOB (the package docstring
says what it does). What is left here is placing an order and cancelling it, and the
wiring: the modules beside this one hold the other parts, building and signing an order
(`preparation.py`), reading orders and trades back (`lookup.py`), markets, balances, the
reports and the orders followed."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Collection
from decimal import Decimal
from functools import partial
from typing import Any

from loguru import logger
from py_clob_client.client import ClobClient

from ordergate.clock import Clock
from ordergate.domain.instrument import Instrument
from ordergate.domain.order import OrderStatus
from ordergate.domain.values import Side
from ordergate.venues.base import (
    Balance,
    DuplicateClientOrderId,
    FatalVenueError,
    NoQuote,
    OrderRejected,
    OrderReport,
    OrderRequest,
    Ticker,
    TradeReport,
    VenueError,
    VenueEventSink,
    VenueHealth,
    VenueTimeout,
)
from ordergate.venues.polymarket.balances import BalanceReader
from ordergate.venues.polymarket.client import ClobCaller, read_secrets
from ordergate.venues.polymarket.lookup import OrderLookup
from ordergate.venues.polymarket.markets import MarketRules
from ordergate.venues.polymarket.preparation import OrderPreparer
from ordergate.venues.polymarket.reports import (
    ZERO,
    Tracked,
    dec,
    make_report,
)
from ordergate.venues.polymarket.settings import (
    PolymarketPlacementTimeout,
    PolymarketVenueSettings,
)
from ordergate.venues.polymarket.signing import OrderSigner, salt_for
from ordergate.venues.polymarket.tracking import TrackedOrders

_KILLED_MARKERS = ("fok orders are fully filled or killed", "fak orders are partially filled")


class PolymarketVenue:
    """The `VenueAdapter` for Polymarket's CLOB. See the package docstring."""

    def __init__(self, settings: PolymarketVenueSettings, clock: Clock, *,
                 on_event: VenueEventSink | None = None) -> None:
        self.settings = settings
        self._on_event = on_event
        self.name = settings.name
        self._clock = clock
        self._secrets = read_secrets(settings)
        self._client = ClobClient(
            settings.host,
            chain_id=settings.chain_id,
            key=self._secrets.private_key,
            creds=self._secrets.creds,
            signature_type=settings.signature_type,
            funder=self._secrets.funder,
        )
        self._address: str = str(self._client.get_address())
        self._signer = OrderSigner(self.name, settings.chain_id, settings.signature_type,
                                   self._secrets, self._address)
        self._call = ClobCaller(self.name, settings.timeout_s, settings.max_workers)
        self.markets = MarketRules(self.name, self._client, self._call, settings.condition_ids)
        """Instruments, tick sizes, neg-risk flags (`markets.py`)."""
        self.balances = BalanceReader(self._client, self._call, settings.signature_type)
        """USDC and the tokens known of (`balances.py`)."""
        self.orders = TrackedOrders(clock, settings.finished_order_grace_s)
        """The orders followed now (`tracking.py`): bounded, not the session's history."""
        self._preparer = OrderPreparer(self.name, self._client, self._call, self.markets,
                                       self._signer)
        self._lookup = OrderLookup(self.name, self._client, self._call, clock, self.orders,
                                   self.balances.held)
        self._refresh_task: asyncio.Task[None] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"PolymarketVenue(name={self.name!r}, host={self.settings.host!r})"

    @property
    def address(self) -> str:
        """The signer's public address."""
        return self._address

    def native_stop_orders(self) -> bool:
        """The CLOB has no trigger orders: stops are emulated (`venues/capabilities.py`)."""
        return False

    def market_orders(self) -> bool:
        """No market orders either: a triggered stop_market goes out as an IOC limit."""
        return False

    # ------------------------------------------------------------ instruments

    async def load_instruments(self) -> dict[str, Instrument]:
        loaded = await self.markets.load(keep=self.orders.symbols())
        self._ensure_refresh_task()
        return loaded

    async def refresh_tick_sizes(self, symbols: list[str] | None = None) -> dict[str, Decimal]:
        """Re-read tick sizes (default: the configured markets' tokens and those of the
        orders followed); returns symbol -> tick."""
        result: dict[str, Decimal] = {}
        watched = self.markets.configured | self.orders.symbols()
        for token_id in symbols if symbols is not None else sorted(watched):
            result[token_id] = await self.markets.fresh_tick(token_id)
        return result

    def instrument(self, symbol: str) -> Instrument | None:
        """The latest known rules of one token (tick refreshed), if known."""
        return self.markets.instruments.get(symbol)

    def _ensure_refresh_task(self) -> None:
        if self.settings.tick_refresh_s <= 0 or self._refresh_task is not None or self._closed:
            return
        self._refresh_task = asyncio.get_running_loop().create_task(self._refresh_loop())

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.tick_refresh_s)
            try:
                await self.refresh_tick_sizes()
            except VenueError as exc:
                logger.warning("{}: tick size refresh failed: {}", self.name, exc)

    # ------------------------------------------------------------ building orders

    def salt_for(self, client_order_id: str) -> int:
        """The order salt derived from the client order ID (and this signer)."""
        return salt_for(self._address, client_order_id)

    def _track(self, tracked: Tracked) -> None:
        self.orders.track(tracked)
        self.balances.held.add(tracked.symbol)

    async def prepare_order(self, request: OrderRequest) -> str | None:
        """The venue order ID `request` signs to. The order is built and signed now (with
        the tick size, neg-risk flag and fee rate read from the venue), kept, and sent as
        these very bytes by `place_order`, so the ID the engine journals before the send
        is the ID the venue gets. Reads only: a timeout here is not ambiguous."""
        self.orders.evict()
        tracked = self.orders.by_cid.get(request.client_order_id)
        if tracked is not None and tracked.body is not None:
            return tracked.venue_order_id
        tracked = await self._preparer.for_sending(request)
        self._track(tracked)
        return tracked.venue_order_id

    async def order_id_for(self, request: OrderRequest) -> str:
        """The venue order ID this request signs to (reads the current tick, neg-risk and
        fee rate), remembered for later lookups: `prepare_order` for callers outside the
        engine. The engine journals the ID instead of recomputing it after a restart."""
        tracked = self.orders.by_cid.get(request.client_order_id)
        if tracked is not None:
            return tracked.venue_order_id
        prepared = await self.prepare_order(request)
        assert prepared is not None  # always computable on Polymarket
        return prepared

    # ------------------------------------------------------------ placing

    async def place_order(self, request: OrderRequest) -> OrderReport:
        self.orders.evict()
        tracked = self.orders.by_cid.get(request.client_order_id)
        if tracked is not None and tracked.acknowledged:
            raise DuplicateClientOrderId(
                f"{self.name}: {request.client_order_id} was already placed as "
                f"{tracked.venue_order_id}"
            )
        if tracked is None or tracked.body is None:
            tracked = await self._preparer.for_sending(request)
            self._track(tracked)
        # else: the outcome of an earlier attempt is unknown; re-send the identical order,
        # which the venue refuses as a duplicate if the first one landed.
        oid = tracked.venue_order_id
        try:
            response = await self._call(
                f"place {request.client_order_id}",
                partial(self._client.post_order, tracked.body, tracked.clob_order_type,
                        tracked.post_only),
                placing=True,
            )
        except VenueTimeout as exc:
            tracked.maybe_placed = True
            raise PolymarketPlacementTimeout(f"{exc} (venue order id {oid})", oid) from None
        except DuplicateClientOrderId:
            tracked.acknowledged = True
            raise
        except OrderRejected as exc:
            if any(marker in str(exc).lower() for marker in _KILLED_MARKERS):
                tracked.acknowledged = True
                report = self._report_of(tracked, OrderStatus.EXPIRED, ZERO, None, str(exc))
                self.orders.finish(tracked, report)  # killed whole: no trade to wait for
                return report
            if not tracked.maybe_placed:
                self.orders.untrack(tracked)  # never placed: the same ID may be sent again
            raise
        if not isinstance(response, dict) or not response.get("orderID"):
            tracked.maybe_placed = True
            raise PolymarketPlacementTimeout(
                f"{self.name}: place {request.client_order_id}: unreadable answer, outcome "
                f"unknown (venue order id {oid})",
                oid,
            )
        if not response.get("success", True):
            if not tracked.maybe_placed:
                self.orders.untrack(tracked)
            raise OrderRejected(f"{self.name}: {response.get('errorMsg') or 'order refused'}")
        tracked.acknowledged = True
        venue_oid = str(response["orderID"])
        if venue_oid != oid:
            logger.warning(
                "{}: venue order id {} differs from the computed {}", self.name, venue_oid, oid
            )
            # Keep both: the engine journaled the computed ID and looks the order up by it.
            self.orders.alias(tracked, venue_oid)
        return self._report_from_post(tracked, response)

    def _report_from_post(self, tracked: Tracked, response: dict[str, Any]) -> OrderReport:
        """What the placement matched at once. Never final: those trades are only MATCHED
        (`reports.py`), so the engine waits for them to settle."""
        making = dec(response.get("makingAmount") or 0)
        taking = dec(response.get("takingAmount") or 0)
        if tracked.side is Side.BUY:
            filled, cost = taking, making
        else:
            filled, cost = making, taking
        average = cost / filled if filled > 0 else None
        word = str(response.get("status", "")).lower()
        if filled >= tracked.quantity:
            status = OrderStatus.FILLED
        elif tracked.kills_remainder:
            status = OrderStatus.EXPIRED  # the unfilled remainder was killed
        elif filled > 0:
            status = OrderStatus.PARTIALLY_FILLED
        else:
            status = OrderStatus.ACCEPTED
        return self._report_of(tracked, status, filled, average, word)

    def _report_of(self, tracked: Tracked, status: OrderStatus, filled: Decimal,
                   average: Decimal | None, reason: str = "") -> OrderReport:
        return make_report(tracked, status, filled, average, self._clock.now(), reason)

    # ------------------------------------------------------------ looking up

    async def fetch_order(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> OrderReport:
        tracked = self._lookup.resolve(symbol, client_order_id, venue_order_id)
        return (await self._lookup.read(tracked))[0]

    async def cancel_order(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> OrderReport:
        tracked = self._lookup.resolve(symbol, client_order_id, venue_order_id)
        if tracked.terminal is not None:
            return tracked.terminal
        tracked.cancel_requested = True
        oid = tracked.venue_order_id
        answer = await self._call(f"cancel {client_order_id}", partial(self._client.cancel, oid))
        canceled = isinstance(answer, dict) and oid in (answer.get("canceled") or [])
        refused = {}
        if isinstance(answer, dict) and isinstance(answer.get("not_canceled"), dict):
            refused = answer["not_canceled"]
        report, final = await self._lookup.read(tracked)
        if canceled and not report.status.is_terminal:
            # The venue said it cancelled; a read racing the cancel may still say live.
            report = dataclasses.replace(
                report, status=OrderStatus.CANCELLED, remaining_quantity=ZERO, reason="canceled"
            )
            if final:
                self.orders.finish(tracked, report)
        if not canceled and report.status.is_working:
            raise OrderRejected(
                f"{self.name}: cancel of {client_order_id} refused: {refused.get(oid, answer)}"
            )
        return report

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Every open order, its filled quantity counted as `fetch_order` counts it (its
        trades are read, per token, for the orders that have matched)."""
        return await self._lookup.open_orders(symbol)

    # ------------------------------------------------------------ fills

    async def fetch_fills(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> list[TradeReport]:
        """The order's fills: its CONFIRMED trades only (`reports.py`)."""
        return await self._lookup.fills(self._lookup.resolve(symbol, client_order_id,
                                                             venue_order_id))
    # ------------------------------------------------------------ account and market

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        if account_id != self.settings.account_id:
            raise FatalVenueError(
                f"{self.name}: unknown account {account_id!r} (this adapter serves "
                f"{self.settings.account_id!r})"
            )
        self.orders.evict()
        return await self.balances.read(self.markets.configured, self.orders.symbols())

    def watch_symbols(self, symbols: Collection[str]) -> None:
        """Read these tokens' balances too (the engine's positions after a restart: an
        outcome token's balance is one request per token, so only the tokens we know of
        are read, and one held from before the restart must not read as 0)."""
        self.balances.held.update(symbol for symbol in symbols if symbol)

    async def fetch_ticker(self, symbol: str) -> Ticker:
        """Best bid and ask of the token's book. An empty side is `NoQuote`: reading it as
        0 or 1 would make up a mid that defeats the price band and the sizing (the risk
        manager refuses the signal with NO_REFERENCE_PRICE instead)."""
        book = await self._call(f"book of {symbol}", partial(self._client.get_order_book, symbol))
        bids = [dec(level.price) for level in book.bids or []]
        asks = [dec(level.price) for level in book.asks or []]
        empty = [side for side, levels in (("bids", bids), ("asks", asks)) if not levels]
        if empty:
            raise NoQuote(f"{self.name}: the book of {symbol} has no {' and no '.join(empty)}")
        return Ticker(symbol=symbol, bid=max(bids), ask=min(asks), ts=self._clock.now())

    def sells_lock_holdings(self, symbol: str) -> bool:
        """Outcome tokens are held: a resting sell reserves the tokens it sells."""
        return True

    async def health(self) -> VenueHealth:
        try:
            await self._call("server time", self._client.get_server_time)
        except VenueError as exc:
            return VenueHealth(self.name, False, f"{type(exc).__name__}: {exc}")
        return VenueHealth(self.name, True)

    async def close(self) -> None:
        self._closed = True
        if self._refresh_task is not None:
            self._refresh_task.cancel()
            try:
                await self._refresh_task
            except asyncio.CancelledError:
                pass  # we cancelled it: the refresh loop ending is what close asked for
            self._refresh_task = None
        self._call.shutdown()

