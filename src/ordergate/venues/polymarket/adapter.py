"""`PolymarketVenue`: the `VenueAdapter` for Polymarket's CLOB (the package docstring
says what it does; the modules beside this one hold the parts that are not I/O)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Collection
from decimal import Decimal
from functools import partial
from typing import Any

from loguru import logger
from py_clob_client.client import ClobClient
from py_clob_client.clob_types import (
    OpenOrderParams,
    TradeParams,
)
from py_clob_client.clob_types import OrderType as ClobOrderType

from ordergate.clock import Clock
from ordergate.domain.instrument import Instrument
from ordergate.domain.order import OrderStatus
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.venues.base import (
    Balance,
    DuplicateClientOrderId,
    FatalVenueError,
    NoQuote,
    OrderNotFound,
    OrderRejected,
    OrderReport,
    OrderRequest,
    StopOrdersUnsupported,
    Ticker,
    TradeReport,
    VenueError,
    VenueEventSink,
    VenueHealth,
    VenueTimeout,
    VenueUnavailable,
)
from ordergate.venues.polymarket.balances import BalanceReader
from ordergate.venues.polymarket.client import ClobCaller, read_secrets
from ordergate.venues.polymarket.markets import MarketRules
from ordergate.venues.polymarket.reports import (
    ZERO,
    Executions,
    Tracked,
    dec,
    executions_of,
    make_report,
    order_report,
    read_order_json,
)
from ordergate.venues.polymarket.settings import (
    PolymarketPlacementTimeout,
    PolymarketVenueSettings,
    VenueOrderIdUnknown,
)
from ordergate.venues.polymarket.signing import (
    OrderSigner,
    effective_price_and_size,
    expiration_of,
    salt_for,
)
from ordergate.venues.polymarket.tracking import TrackedOrders

_TIF_TO_CLOB: dict[TimeInForce, str] = {
    TimeInForce.GTC: ClobOrderType.GTC,
    TimeInForce.GTD: ClobOrderType.GTD,
    TimeInForce.FOK: ClobOrderType.FOK,
    TimeInForce.IOC: ClobOrderType.FAK,
}
_TRADES_SKEW_S = 60  # `after` is taken this much early: the venue's two clocks may round apart
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

    async def _prepare(self, request: OrderRequest) -> Tracked:
        if request.order_type.is_stop:
            # The CLOB has no trigger orders: refused before anything is signed or sent.
            raise StopOrdersUnsupported(
                f"{self.name}: Polymarket's CLOB has no stop orders ({request.order_type}); "
                "not sent")
        if request.order_type is not OrderType.LIMIT:
            raise OrderRejected(
                f"{self.name}: market orders are not supported; send a marketable limit "
                "order with FOK or IOC"
            )
        clob_type = _TIF_TO_CLOB.get(request.time_in_force)
        if clob_type is None:  # pragma: no cover - every TimeInForce is mapped
            raise OrderRejected(f"{self.name}: unsupported time in force {request.time_in_force}")
        if request.post_only and clob_type not in (ClobOrderType.GTC, ClobOrderType.GTD):
            # py-clob-client raises a bare Exception for it; refuse before anything is sent.
            raise OrderRejected(f"{self.name}: a post-only order is GTC or GTD, not "
                                f"{request.time_in_force}")
        expiration_of(self.name, request)  # refuse a GTD without expiry before any network call
        tick = await self.markets.fresh_tick(request.symbol)
        neg_risk = await self.markets.neg_risk_of(request.symbol)
        fee_rate = int(
            await self._call(
                f"fee rate of {request.symbol}",
                partial(self._client.get_fee_rate_bps, request.symbol),
            )
            or 0
        )
        known = self.markets.instruments.get(request.symbol)
        price, size = effective_price_and_size(
            self.name, request, tick, known.min_quantity if known is not None else None)
        order_id, signed = self._signer.sign(request, price, size, neg_risk, fee_rate)
        return Tracked(
            client_order_id=request.client_order_id,
            venue_order_id=order_id,
            symbol=request.symbol,
            side=request.side,
            quantity=size,
            price=price,
            time_in_force=request.time_in_force,
            body=signed,
            clob_order_type=clob_type,
            post_only=request.post_only,
        )

    def _track(self, tracked: Tracked) -> None:
        self.orders.track(tracked)
        self.balances.held.add(tracked.symbol)

    def _adopt(self, tracked: Tracked) -> None:
        self.orders.adopt(tracked)
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
        tracked = await self._sign_for_sending(request)
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

    async def _sign_for_sending(self, request: OrderRequest) -> Tracked:
        """`_prepare`, with a timeout of its reads made unambiguous (nothing was sent) and
        the journaled ID held to: an order that would now sign to another ID (the tick,
        fee rate or neg-risk flag changed since it was prepared, before a restart) is
        refused, unsent, rather than sent under an ID the journal does not know."""
        try:
            tracked = await self._prepare(request)
        except VenueTimeout as exc:
            raise VenueUnavailable(f"{exc} (before sending; nothing placed)") from None
        journaled = request.venue_order_id
        if journaled is not None and tracked.venue_order_id != journaled:
            raise OrderRejected(
                f"{self.name}: {request.client_order_id} now signs to {tracked.venue_order_id}, "
                f"not the journaled {journaled} (tick size, fee rate or neg-risk changed "
                "since it was prepared); not sent")
        return tracked

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
            tracked = await self._sign_for_sending(request)
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

    def _resolve(self, symbol: str, client_order_id: str, venue_order_id: str | None) -> Tracked:
        """The order to ask about: one followed, or, known only by its venue order ID (the
        engine's journal has it), a new record kept once the venue shows the order."""
        self.orders.evict()
        tracked = self.orders.by_cid.get(client_order_id)
        if tracked is not None and venue_order_id in (None, tracked.venue_order_id, tracked.alias):
            return tracked
        if venue_order_id is not None:
            known = self.orders.by_oid.get(venue_order_id)
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

    async def _read(self, tracked: Tracked) -> tuple[OrderReport, bool]:
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
        self._adopt(tracked)  # the venue knows it
        if final and report.status.is_terminal:
            self.orders.finish(tracked, report)
        return report, final

    async def _lookup(self, tracked: Tracked) -> OrderReport:
        return (await self._read(tracked))[0]

    async def fetch_order(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> OrderReport:
        return await self._lookup(self._resolve(symbol, client_order_id, venue_order_id))

    async def cancel_order(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> OrderReport:
        tracked = self._resolve(symbol, client_order_id, venue_order_id)
        if tracked.terminal is not None:
            return tracked.terminal
        tracked.cancel_requested = True
        oid = tracked.venue_order_id
        answer = await self._call(f"cancel {client_order_id}", partial(self._client.cancel, oid))
        canceled = isinstance(answer, dict) and oid in (answer.get("canceled") or [])
        refused = {}
        if isinstance(answer, dict) and isinstance(answer.get("not_canceled"), dict):
            refused = answer["not_canceled"]
        report, final = await self._read(tracked)
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
        self.orders.evict()
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
            tracked = self.orders.by_oid.get(oid)
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

    # ------------------------------------------------------------ fills

    async def _trades(self, symbol: str, after: int | None = None) -> list[dict[str, Any]]:
        """The account's trades in one token; with `after` (the venue's creation time of
        the order asked about) only those since, so a poll does not read the token's whole
        history again."""
        since = None if after is None else max(after - _TRADES_SKEW_S, 0)
        params = TradeParams(asset_id=symbol, after=since)
        rows = await self._call(f"trades of {symbol}", partial(self._client.get_trades, params))
        return [r for r in rows or [] if isinstance(r, dict)]

    async def fetch_fills(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> list[TradeReport]:
        """The order's fills: its CONFIRMED trades only (`reports.py`)."""
        tracked = self._resolve(symbol, client_order_id, venue_order_id)
        ex = executions_of(tracked, await self._trades(tracked.symbol, tracked.created_at))
        if ex.seen:
            self._adopt(tracked)
        return ex.booked

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

