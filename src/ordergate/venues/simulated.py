"""`SimulatedVenue`: a deterministic venue on recorded quotes, behind the same adapter
interface as the real ones, so paper trading and backtests run the live code.

Matching: market orders take the touch plus `slippage_bps`, up to the quoted size; what
the touch cannot fill expires (as Binance expires a market order that runs out of
liquidity). Limit orders that cross take liquidity the same way; the rest rests and
fills, as maker at its own price, against later quotes that cross it, up to each quote's
size (a quote's size is not used up by one order: each crossed order sees all of it). The
resting orders are a price-time book (`sim_book`): a quote reads only the orders it crosses,
best price first, by arrival within a price; buys before sells.
Orders become effective `ack_latency_ms` after they are sent, in simulated time.
Rejections mirror a real venue's: price off the tick, quantity off the lot or below the
minimum, notional below the minimum, insufficient balance, a client order ID that is
already open, and a post-only order that would take at the touch in force on arrival
(`PostOnlyWouldTake`; one that rests fills as maker, like any resting order).

Stop orders (STOP_MARKET, STOP_LIMIT) are native: one whose trigger the touch in force on
arrival has already reached (a buy stop's ask at or above it, a sell stop's bid at or
below it) is refused (`StopWouldTrigger`) and never exists; otherwise it waits ACCEPTED,
untriggered, in a book of stops ordered by trigger (`sim_book`), so a quote reads only the
stops it triggers. The first later quote whose ask reaches a buy stop's trigger (whose bid
reaches a sell stop's) triggers it, and it executes on that quote as the order it becomes:
a stop_market as a market order (the touch plus slippage, as taker, up to the quoted
size, the rest expiring), a stop_limit as a limit order at its price (taking what
crosses, resting for the rest, subject to its time in force).

OCO lists (`place_oco`, `sim_oco`; off with `native_oco`): a take-profit limit and a
stop_market for the same quantity, the funds locked once for both, and a fill of either
(even partial) or the stop's trigger ending the other in the same matching step.

Funds (`sim_funds`): an order is checked against the free balance, and one that rests
locks what it can still consume until it is done, as on Binance. Fills
(`sim_fills`): the price, the size and what each changes, the same for every way an
order comes to trade.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from ordergate.clock import Clock
from ordergate.domain.instrument import Instrument
from ordergate.domain.order import OrderStatus
from ordergate.domain.values import ZERO
from ordergate.venues import sim_oco
from ordergate.venues.base import (
    Balance, DuplicateClientOrderId, OcoRequest, OrderNotFound, OrderRejected, OrderReport,
    OrderRequest, RateLimited, ReplaceReport, Ticker, TradeReport, UnknownSymbol, VenueHealth,
    VenueTimeout, VenueUnavailable,
)
from ordergate.venues.faults import Fault, FaultPlan
from ordergate.venues.market_data import MarketData
from ordergate.venues.sim_book import RestingBook
from ordergate.venues.sim_fills import fill_resting, market_price, take, trigger_stops
from ordergate.venues.sim_funds import check_funds, lock, release
from ordergate.venues.sim_replace import replace_order
from ordergate.venues.sim_rules import check_filters, check_post_only, check_trigger
from ordergate.venues.sim_settings import InstrumentSpec as InstrumentSpec
from ordergate.venues.sim_settings import SimulatedVenueSettings as SimulatedVenueSettings

S = OrderStatus


@dataclass(slots=True)
class _SimOrder:
    venue_order_id: str
    request: OrderRequest
    active_from: datetime
    status: OrderStatus = S.ACCEPTED
    filled: Decimal = ZERO
    notional: Decimal = ZERO
    trades: list[TradeReport] = field(default_factory=list)
    updated: datetime | None = None
    locked: Decimal = ZERO
    """Still reserved for this order while it rests, in `lock_currency`."""
    lock_currency: str = ""
    oco: str | None = None
    """The OCO list this order is a leg of (`sim_oco`), by its list client order ID."""

    @property
    def remaining(self) -> Decimal:
        return self.request.quantity - self.filled


class SimulatedVenue:
    def __init__(self, settings: SimulatedVenueSettings, clock: Clock,
                 market: MarketData | None = None,
                 on_inferred: Callable[[Instrument], None] | None = None) -> None:
        self.name = settings.name
        self._s = settings
        self._clock = clock
        if market is None and settings.market_data is not None:
            market = MarketData.load(settings.market_data)
        self.market = market or MarketData([])
        self._on_inferred = on_inferred
        self._latency = timedelta(milliseconds=settings.ack_latency_ms)
        self._retention = timedelta(seconds=settings.history_retention_s)
        self.faults = FaultPlan()
        self._instruments: dict[str, Instrument] = {}
        self._balances = {acct: dict(cur) for acct, cur in settings.balances.items()}
        self._locked: dict[str, dict[str, Decimal]] = {}  # account -> currency -> reserved
        self._lockers: dict[tuple[str, str], int] = {}   # (account, currency) -> orders locking
        self._orders: dict[str, _SimOrder] = {}          # by venue order id
        self._by_client: dict[str, _SimOrder] = {}       # latest order per client order id
        self.orders_per_client_id: dict[str, int] = {}
        """Venue orders per client order ID, for the no-duplicate invariant. Kept while the
        ID's orders are in the history (`history_retention_s`); an ID with more than one
        order is kept for good (the evidence of a duplicate), so memory stays bounded by
        what the history holds, not by every order ever placed."""
        self._books: dict[str, RestingBook[_SimOrder]] = {}  # symbol -> resting orders
        self._stops: dict[str, RestingBook[_SimOrder]] = {}  # symbol -> untriggered stops
        self._cursor: dict[str, int] = {}                 # symbol -> last quote index matched
        self._finished: deque[tuple[datetime, str]] = deque()
        self._seq = 0
        self._trade_seq = 0
        self._oco_lists: dict[str, list[_SimOrder]] = {}  # list client order id -> its legs

    # ------------------------------------------------------------------ instruments

    async def load_instruments(self) -> dict[str, Instrument]:
        if not self._instruments:
            self._instruments = self._build_instruments()
        return self._instruments

    def _build_instruments(self) -> dict[str, Instrument]:
        result = {spec.symbol: self._from_spec(spec) for spec in self._s.instruments}
        for symbol in self.market.symbols:
            if symbol not in result:
                result[symbol] = self._infer(symbol)
                if self._on_inferred is not None:
                    self._on_inferred(result[symbol])
        return result

    def _from_spec(self, spec: InstrumentSpec) -> Instrument:
        base, _, quote = spec.symbol.partition("/")
        return Instrument(self.name, spec.symbol, base, quote.split(":")[0], spec.tick_size,
                          spec.lot_size, spec.min_quantity or spec.lot_size, spec.max_quantity,
                          spec.min_notional, spec.min_price, spec.max_price)

    def _infer(self, symbol: str) -> Instrument:
        exponent = self.market.price_exponent(symbol)
        tick = Decimal(1).scaleb(exponent)
        lot = self._s.inferred_lot_size
        return self._from_spec(InstrumentSpec(symbol=symbol, tick_size=tick, lot_size=lot,
                                              min_notional=self._s.inferred_min_notional))

    # ------------------------------------------------------------------ orders

    async def prepare_order(self, request: OrderRequest) -> str | None:
        """None: the simulated venue numbers an order when it takes it (`sim-N`)."""
        return None

    async def place_order(self, request: OrderRequest) -> OrderReport:
        fault = self._fault("place")
        if fault is Fault.TIMEOUT_BEFORE_ACCEPT:
            raise VenueTimeout("simulated timeout: request lost before the venue")
        if fault is Fault.REJECT:
            raise OrderRejected("simulated reject")
        existing = self._by_client.get(request.client_order_id)
        if existing is not None and not existing.status.is_terminal:
            raise DuplicateClientOrderId(f"client order id {request.client_order_id} is open")
        order = self._accept(request)
        if fault is Fault.TIMEOUT_AFTER_ACCEPT:
            raise VenueTimeout("simulated timeout: the venue took the order, the reply was lost")
        return self._report(order)

    def _accept(self, request: OrderRequest) -> _SimOrder:
        instrument = self._instruments.get(request.symbol)
        if instrument is None:
            raise UnknownSymbol(f"unknown symbol {request.symbol}")
        check_filters(instrument, request)
        effective = self._clock.now() + self._latency
        quote = self.market.quote_at(request.symbol, effective)
        if quote is None:
            raise OrderRejected(f"no market for {request.symbol} yet")
        check_funds(self, instrument, request,
                    market_price(instrument, request.side, quote, self._s.slippage_bps))
        if request.post_only:
            check_post_only(request, quote)
        if request.order_type.is_stop:
            check_trigger(request, quote)
        self._seq += 1
        order = _SimOrder(f"{self.name}-{self._seq}", request, effective, updated=effective)
        self._orders[order.venue_order_id] = order
        self._by_client[request.client_order_id] = order
        count = self.orders_per_client_id.get(request.client_order_id, 0)
        self.orders_per_client_id[request.client_order_id] = count + 1
        if request.order_type.is_stop:
            self._arm(order, instrument)
            return order
        take(self, order, instrument, quote)
        if order.status.is_terminal:
            self._finish(order)
        return order

    def _arm(self, order: _SimOrder, instrument: Instrument) -> None:
        """Rest an accepted stop, untriggered, locking what it may consume."""
        symbol = order.request.symbol
        stops = self._stops.get(symbol)
        if stops is None:
            stops = self._stops[symbol] = RestingBook(by_trigger=True)
        self._start_cursor(symbol, order.active_from)
        stops.add(order)
        lock(self, order, instrument)

    def _start_cursor(self, symbol: str, active_from: datetime) -> None:
        """Nothing rests or waits here since the cursor last moved: start it now."""
        if not self._books.get(symbol) and not self._stops.get(symbol):
            self._cursor[symbol] = self.market.index_at(symbol, active_from)

    def advance(self) -> None:
        """Match resting orders against the quotes that arrived up to the clock's now.

        At each quote the GTD orders due by its time expire first (one due at the quote's
        time does not trade on it), then the orders it crosses fill. One due before it is
        even effective could never trade: it expires there too, not at the end of the call,
        which leaves the same state.

        Stops come first at each quote: the ones it triggers execute on it (a stop_limit
        that rests then waits for the next quote, as any order resting since this one)."""
        now = self._clock.now()
        books, stops_of = self._books, self._stops
        symbols = [s for s, book in books.items() if book]
        symbols += [s for s, stops in stops_of.items() if stops and not books.get(s)]
        for symbol in symbols:
            series = self.market.series(symbol)
            start, end = self._cursor.get(symbol, -1) + 1, self.market.index_at(symbol, now) + 1
            instrument = self._instruments[symbol]
            stops = stops_of.get(symbol)
            for quote in series[start:end]:
                if stops:
                    self._expire(stops.expired(quote.ts))
                    trigger_stops(self, stops, instrument, quote)
                book = books.get(symbol)
                if not book:
                    continue
                self._expire(book.expired(quote.ts))
                for order in book.crossed_by(quote.bid, quote.ask):
                    if order.active_from < quote.ts:  # the arrival quote was used by take
                        fill_resting(self, order, instrument, quote)
                        if order.remaining == 0:
                            book.remove(order)
                            self._finish(order)
            self._cursor[symbol] = max(end - 1, self._cursor.get(symbol, -1))
            for held in (books.get(symbol), stops):  # GTD orders expire on time without a quote too
                if held:
                    self._expire(held.expired(now))

    @property
    def orders_examined(self) -> int:
        """Resting orders matching has looked at so far, all symbols (`RestingBook.examined`):
        the per-quote work, counted, for the resting-order benchmark and its tests."""
        return (sum(book.examined for book in self._books.values())
                + sum(stops.examined for stops in self._stops.values()))

    def _expire(self, orders: list[_SimOrder]) -> None:
        for order in orders:  # already out of the book
            order.status, order.updated = S.EXPIRED, order.request.expires_at
            self._finish(order)

    async def cancel_order(self, symbol: str, client_order_id: str,
                           venue_order_id: str | None = None) -> OrderReport:
        if self._fault("cancel") is Fault.REJECT:
            raise OrderRejected(f"simulated: cancel of {client_order_id} refused")
        self.advance()
        order = self._find(client_order_id, venue_order_id)
        if not order.status.is_terminal:
            self._cancel(order)
        return self._report(order)

    def _cancel(self, order: _SimOrder) -> None:
        order.status = S.CANCELLED
        order.updated = self._clock.now()
        for held in (self._books.get(order.request.symbol),
                     self._stops.get(order.request.symbol)):
            if held is not None and held.remove(order):
                break
        self._finish(order)
        if order.oco is not None:  # cancelling one leg cancels the list
            sim_oco.end_others(self, order, S.CANCELLED, order.updated)

    def supports_replace(self) -> bool:
        """`native_replace` (on by default): a replay can run either amend path."""
        return self._s.native_replace

    async def replace_order(self, old_client_order_id: str, old_venue_order_id: str | None,
                            request: OrderRequest) -> ReplaceReport:
        """Binance's cancelReplace, emulated (`sim_replace.py`)."""
        return replace_order(self, old_client_order_id, old_venue_order_id, request)

    def supports_oco(self) -> bool:
        """Native OCO lists (`sim_oco`), unless `native_oco` is off."""
        return self._s.native_oco

    async def place_oco(self, request: OcoRequest) -> list[OrderReport]:
        return sim_oco.place_oco(self, request)

    async def fetch_order(self, symbol: str, client_order_id: str,
                          venue_order_id: str | None = None) -> OrderReport:
        self._fault("fetch_order")
        self.advance()
        return self._report(self._find(client_order_id, venue_order_id))

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        self._fault("fetch_open_orders")
        self.advance()
        return [self._report(o) for held in (self._books, self._stops)
                for book in held.values() for o in book
                if symbol is None or o.request.symbol == symbol]

    async def fetch_fills(self, symbol: str, client_order_id: str,
                          venue_order_id: str | None = None) -> list[TradeReport]:
        self._fault("fetch_fills")
        self.advance()
        return list(self._find(client_order_id, venue_order_id).trades)

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        self._fault("fetch_balances")
        self.advance()
        totals, locked = self._balances.get(account_id, {}), self._locked.get(account_id, {})
        return {cur: Balance(cur, totals.get(cur, ZERO) - locked.get(cur, ZERO), locked.get(cur, ZERO))
                for cur in sorted(totals.keys() | locked.keys())}

    async def fetch_ticker(self, symbol: str) -> Ticker:
        self._fault("fetch_ticker")
        if symbol not in self._instruments:
            raise UnknownSymbol(f"unknown symbol {symbol}")
        quote = self.market.quote_at(symbol, self._clock.now())
        if quote is None:
            raise VenueUnavailable(f"no quote for {symbol} yet")
        return Ticker(symbol, quote.bid, quote.ask, quote.ts)

    def sells_lock_holdings(self, symbol: str) -> bool:
        """Spot rules (`allow_short` off): a resting sell reserves the base it sells."""
        return not self._s.allow_short

    async def health(self) -> VenueHealth:
        return VenueHealth(self.name, not self.faults.down, "outage injected" if self.faults.down else "")

    async def close(self) -> None:
        return None

    # ------------------------------------------------------------------ internals

    def _fault(self, operation: str) -> Fault | None:
        if self.faults.down:
            raise VenueUnavailable(f"{self.name} is unavailable (simulated outage)")
        fault = self.faults.next_for(operation)
        if fault is Fault.UNAVAILABLE:
            raise VenueUnavailable(f"simulated 503 on {operation}")
        if fault is Fault.RATE_LIMITED:
            raise RateLimited(f"simulated 429 on {operation}", retry_after=1.0)
        if fault is Fault.TIMEOUT_BEFORE_ACCEPT and operation != "place":
            raise VenueTimeout(f"simulated timeout on {operation}")
        return fault

    def _find(self, client_order_id: str, venue_order_id: str | None) -> _SimOrder:
        self._evict(self._clock.now())
        order = self._orders.get(venue_order_id) if venue_order_id else None
        order = order or self._by_client.get(client_order_id)
        if order is None:
            raise OrderNotFound(f"order {client_order_id} does not exist")
        return order

    def _report(self, order: _SimOrder) -> OrderReport:
        request = order.request
        average = order.notional / order.filled if order.filled else None
        return OrderReport(request.client_order_id, order.venue_order_id, request.symbol,
                           order.status, order.filled, order.remaining, average,
                           order.updated or order.active_from, side=request.side,
                           order_type=request.order_type, price=request.price,
                           trigger_price=request.trigger_price)

    def _finish(self, order: _SimOrder) -> None:
        if order.locked:
            release(self, order, ZERO)
        now = self._clock.now()
        self._finished.append((now, order.venue_order_id))
        self._evict(now)

    def _evict(self, now: datetime) -> None:
        finished = self._finished
        horizon = now - self._retention
        while finished and finished[0][0] <= horizon:
            old = self._orders.pop(finished.popleft()[1], None)
            if old is not None and self._by_client.get(old.request.client_order_id) is old:
                client_order_id = old.request.client_order_id
                del self._by_client[client_order_id]
                if self.orders_per_client_id.get(client_order_id) == 1:
                    del self.orders_per_client_id[client_order_id]
