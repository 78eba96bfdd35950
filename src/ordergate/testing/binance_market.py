"""The Binance emulator's market: symbols and their rules, books, the accounts' balances,
orders and trades, and the matching model. No HTTP here (`binance_emulator.py` serves it).

What it models, deterministically:
- an order book per symbol set by the test: market orders walk the levels and produce
  one trade per level, running out of liquidity leaves them EXPIRED with a partial fill;
  limit orders fill what crosses and the rest rests OPEN until `trade_against_resting` or
  a new book (`set_book`) fills it;
- Binance's filters (PRICE_FILTER, LOT_SIZE, NOTIONAL) and refusals (-2010 insufficient
  balance, "Duplicate order sent." while an order with that client order ID is open,
  "Order would immediately match and take." for a LIMIT_MAKER that would trade as taker);
- LIMIT_MAKER (Binance's post-only limit): no timeInForce, refused whole if it would match
  on arrival, otherwise a LIMIT order that rests and fills as maker;
- stop orders (STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT, `binance_stops`):
  triggered by the symbol's last price, which is the price of its latest trade (ours, or
  another participant's, `trade_against_resting`; the book's mid before any trade). One
  whose stopPrice is already reached is refused (-2010 "Stop price would trigger
  immediately."); otherwise it waits NEW, `isWorking` false, locking what it may consume,
  and once triggered executes as a MARKET or a LIMIT order (whose own trades move the last
  price and may trigger further stops, as on the venue);
- OCO order lists (`binance_oco`): a leg's fill or trigger ends the other leg, a cancel of
  one cancels both, the funds locked once (`ListHook`);
- balances locked, debited and credited, with commission (in BNB, discounted, when the
  account pays its fees in BNB);
- several accounts (`Wallet`, one per API key, as on Binance): each its own balances,
  orders, trades, client order IDs and fee setting, sharing the symbols, the books and
  the ID sequences. `account` names the one acting (the emulator sets it, under its lock,
  to the account of the key that signed the request); an order's fills and releases go to
  its own account's wallet whoever moved the market;
- order and trade IDs numbered per symbol, as Binance does: each symbol has its own two
  sequences, starting at small numbers (1), so two symbols' trades share IDs.

Not thread-safe by itself: the emulator holds one lock around every call. Money is
`Decimal` throughout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple, Protocol

from ordergate.testing.binance_stops import (
    STOP_LIMIT_TYPES,
    STOP_MARKET_TYPES,
    STOP_TYPES,
    is_triggered,
)

ZERO = Decimal(0)
_EIGHT = Decimal("0.00000001")

Level = tuple[Decimal, Decimal]

BNB = "BNB"
LIMIT_TYPES = ("LIMIT", "LIMIT_MAKER")
"""Order types with a limit price that rest and lock funds."""
PRICED_TYPES = LIMIT_TYPES + STOP_LIMIT_TYPES
"""Order types with a limit price: what they lock is released at it as they fill."""
MARKET_LIKE = ("MARKET", *STOP_MARKET_TYPES)
"""Order types that execute at market: what the book cannot fill expires."""
BNB_DISCOUNT = Decimal("0.25")  # Binance spot: commission paid in BNB costs 25% less


DEFAULT_ACCOUNT = "default"


class BinanceApiError(Exception):
    """An error answered the way Binance answers it: HTTP status + {"code", "msg"}."""

    def __init__(self, http_status: int, code: int, msg: str) -> None:
        super().__init__(f"{http_status} {code} {msg}")
        self.http_status = http_status
        self.code = code
        self.msg = msg


def fmt(value: Decimal) -> str:
    """Binance prints amounts with eight decimals: "0.01000000"."""
    return format(value.quantize(_EIGHT), "f")


def dec(value: Decimal | str | int) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def now_ms() -> int:
    return int(time.time() * 1000)


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """One spot symbol's rules, as exchangeInfo publishes them."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_notional: Decimal
    min_price: Decimal = Decimal("0.01")
    max_price: Decimal = Decimal(1000000)
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    status: str = "TRADING"


DEFAULT_SYMBOLS: tuple[SymbolSpec, ...] = (
    SymbolSpec(
        symbol="BTCUSDT", base="BTC", quote="USDT", tick_size=Decimal("0.01"),
        step_size=Decimal("0.00001"), min_qty=Decimal("0.00001"), max_qty=Decimal(9000),
        min_notional=Decimal(5),
    ),
    SymbolSpec(
        symbol="ETHUSDT", base="ETH", quote="USDT", tick_size=Decimal("0.01"),
        step_size=Decimal("0.0001"), min_qty=Decimal("0.0001"), max_qty=Decimal(9000),
        min_notional=Decimal(5),
    ),
)

DEFAULT_BOOKS: dict[str, tuple[list[Level], list[Level]]] = {
    "BTCUSDT": (
        [(Decimal("49999.00"), Decimal("0.5")), (Decimal("49998.00"), Decimal(1)),
         (Decimal("49990.00"), Decimal(2))],
        [(Decimal("50001.00"), Decimal("0.5")), (Decimal("50002.00"), Decimal(1)),
         (Decimal("50010.00"), Decimal(2))],
    ),
    "ETHUSDT": (
        [(Decimal("2999.00"), Decimal(5)), (Decimal("2998.00"), Decimal(10))],
        [(Decimal("3001.00"), Decimal(5)), (Decimal("3002.00"), Decimal(10))],
    ),
}

DEFAULT_BALANCES: dict[str, Decimal] = {
    "USDT": Decimal(1000000),
    "BTC": Decimal(10),
    "ETH": Decimal(100),
}


# ---------------------------------------------------------------- state records


@dataclass(slots=True)
class EmulatedOrder:
    order_id: int
    client_order_id: str
    symbol: str
    side: str  # BUY / SELL
    type: str  # LIMIT / LIMIT_MAKER / MARKET / STOP_LOSS(_LIMIT) / TAKE_PROFIT(_LIMIT)
    time_in_force: str
    price: Decimal
    orig_qty: Decimal
    time_ms: int
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cummulative_quote_qty: Decimal = ZERO
    update_time_ms: int = 0
    locked: Decimal = ZERO  # still reserved for this order (quote for a buy, base for a sell)
    trade_ids: list[int] = field(default_factory=list)
    stop_price: Decimal = ZERO  # a stop order's trigger; zero otherwise, as Binance shows it
    working: bool = True  # False while a stop order waits for its trigger (`isWorking`)
    working_time_ms: int = -1  # when it started working (placed, or triggered); -1 until then
    order_list_id: int = -1  # the order list (OCO, `binance_oco`) it is a leg of; -1: none
    account: str = DEFAULT_ACCOUNT  # whose order (the API key's account, `Wallet`)

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    def to_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": self.order_list_id,
            "clientOrderId": self.client_order_id,
            "price": fmt(self.price),
            "origQty": fmt(self.orig_qty),
            "executedQty": fmt(self.executed_qty),
            "cummulativeQuoteQty": fmt(self.cummulative_quote_qty),
            "status": self.status,
            "timeInForce": self.time_in_force,
            "type": self.type,
            "side": self.side,
            "stopPrice": fmt(self.stop_price),
            "icebergQty": fmt(ZERO),
            "time": self.time_ms,
            "updateTime": self.update_time_ms or self.time_ms,
            "isWorking": self.working,
            "workingTime": self.working_time_ms if self.working else -1,
            "origQuoteOrderQty": fmt(ZERO),
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }


@dataclass(frozen=True, slots=True)
class EmulatedTrade:
    trade_id: int
    order_id: int
    client_order_id: str
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time_ms: int
    is_maker: bool
    account: str = DEFAULT_ACCOUNT

    def to_json(self) -> dict[str, Any]:
        """The shape of one `/api/v3/myTrades` entry."""
        return {
            "symbol": self.symbol,
            "id": self.trade_id,
            "orderId": self.order_id,
            "orderListId": -1,
            "price": fmt(self.price),
            "qty": fmt(self.qty),
            "quoteQty": fmt(self.quote_qty),
            "commission": fmt(self.commission),
            "commissionAsset": self.commission_asset,
            "time": self.time_ms,
            "isBuyer": self.side == "BUY",
            "isMaker": self.is_maker,
            "isBestMatch": True,
        }


class Book:
    def __init__(self, bids: Sequence[Level], asks: Sequence[Level]) -> None:
        # Each level is [price, qty]; bids best (highest) first, asks best (lowest) first.
        self.bids: list[list[Decimal]] = sorted(
            ([dec(p), dec(q)] for p, q in bids), key=lambda lv: lv[0], reverse=True)
        self.asks: list[list[Decimal]] = sorted(
            ([dec(p), dec(q)] for p, q in asks), key=lambda lv: lv[0])
        self.prune()

    def prune(self) -> None:
        self.bids = [lv for lv in self.bids if lv[1] > 0]
        self.asks = [lv for lv in self.asks if lv[1] > 0]


# ---------------------------------------------------------------- the market


class _NewOrder(NamedTuple):
    """A new order's parameters, read and checked against the filters."""

    symbol: str
    spec: SymbolSpec
    side: str
    otype: str
    qty: Decimal
    tif: str
    price: Decimal
    stop_price: Decimal
    cid: str
    book: Book
    order_id: int


class ListHook(Protocol):
    """Told of what happens to an order that is a leg of an order list (`binance_oco`), so
    the list can end its other legs: a fill (even partial), a stop's trigger (before it
    executes), a cancel."""

    def filled(self, order: EmulatedOrder) -> None: ...

    def triggered(self, order: EmulatedOrder) -> None: ...

    def cancelled(self, order: EmulatedOrder) -> None: ...


@dataclass(slots=True)
class Wallet:
    """One account's own state: balances, how many orders each of its client order IDs
    made, and its "use BNB to pay for fees" setting. Client order IDs are the account's
    own, as on Binance: the same ID under two keys is two orders."""

    free: dict[str, Decimal]
    locked: dict[str, Decimal]
    client_id_counts: dict[str, int] = field(default_factory=dict)
    pay_fees_in_bnb: bool = False

    @classmethod
    def opening(cls, balances: Mapping[str, Decimal | str | int]) -> Wallet:
        free = {a: dec(v) for a, v in balances.items()}
        return cls(free, {a: ZERO for a in free})


class BinanceMarket:
    """Symbols, books, accounts (`Wallet`), their orders and trades, and matching."""

    def __init__(self, symbols: Iterable[SymbolSpec],
                 books: Mapping[str, tuple[Sequence[Level], Sequence[Level]]] | None,
                 balances: Mapping[str, Decimal | str | int] | None,
                 clock: Callable[[], int] = now_ms,
                 account: str = DEFAULT_ACCOUNT) -> None:
        self._now = clock
        """The venue's time in epoch milliseconds (its clock may be set off ours)."""
        self.symbols: dict[str, SymbolSpec] = {s.symbol: s for s in symbols}
        self.books: dict[str, Book] = {}
        for name, (bids, asks) in (DEFAULT_BOOKS if books is None else books).items():
            if name in self.symbols:
                self.books[name] = Book(bids, asks)
        for name in self.symbols:
            self.books.setdefault(name, Book([], []))
        start = DEFAULT_BALANCES if balances is None else balances
        self.default_account = account
        self.wallets: dict[str, Wallet] = {account: Wallet.opening(start)}
        self.account = account
        """The account acting now (the key that signed the request being served)."""
        self.orders: dict[tuple[str, int], EmulatedOrder] = {}
        """By (symbol, order ID): an order ID is unique only within its symbol (and, as
        on Binance, across accounts: the sequence is the symbol's)."""
        self.trades: list[EmulatedTrade] = []
        self._last_order_id: dict[str, int] = {}
        self._last_trade_id: dict[str, int] = {}
        self.last_prices: dict[str, Decimal] = {}
        """Per symbol, the price of its latest trade: what triggers stop orders."""
        self._waiting: dict[str, list[EmulatedOrder]] = {}
        """Per symbol, the stops not yet triggered, oldest first: what a trade checks,
        rather than every order the account ever placed."""
        self.update_id = 1
        self.list_hook: ListHook | None = None
        """Order lists (`binance_oco`), told of their legs' fills, triggers and cancels."""

    # ------------------------------------------------------------ accounts

    def add_account(self, account: str, balances: Mapping[str, Decimal | str | int]) -> None:
        if account in self.wallets:
            raise ValueError(f"account {account!r} exists already")
        self.wallets[account] = Wallet.opening(balances)

    def wallet(self, account: str | None = None) -> Wallet:
        """An account's wallet (the acting one by default)."""
        return self.wallets[self.account if account is None else account]

    @property
    def free(self) -> dict[str, Decimal]:
        """The acting account's free balances."""
        return self.wallet().free

    @property
    def locked(self) -> dict[str, Decimal]:
        return self.wallet().locked

    @property
    def client_id_counts(self) -> dict[str, int]:
        """The acting account's orders per client order ID."""
        return self.wallet().client_id_counts

    @property
    def pay_fees_in_bnb(self) -> bool:
        """The acting account's "use BNB to pay for fees" setting (Binance's BNB burn)."""
        return self.wallet().pay_fees_in_bnb

    @pay_fees_in_bnb.setter
    def pay_fees_in_bnb(self, enabled: bool) -> None:
        self.wallet().pay_fees_in_bnb = enabled

    def own_orders(self) -> list[EmulatedOrder]:
        """The acting account's orders, oldest first."""
        return [o for o in self.orders.values() if o.account == self.account]

    def own_trades(self) -> list[EmulatedTrade]:
        return [t for t in self.trades if t.account == self.account]

    # ------------------------------------------------------------ symbols and books

    def spec(self, symbol: str) -> SymbolSpec:
        spec = self.symbols.get(symbol)
        if spec is None:
            raise BinanceApiError(400, -1121, "Invalid symbol.")
        return spec

    def add_symbol(self, spec: SymbolSpec) -> None:
        self.symbols[spec.symbol] = spec
        self.books.setdefault(spec.symbol, Book([], []))

    def remove_symbol(self, symbol: str) -> None:
        self.symbols.pop(symbol, None)
        self.books.pop(symbol, None)

    def set_book(self, symbol: str, bids: Sequence[Level], asks: Sequence[Level]) -> list[EmulatedTrade]:
        self.spec(symbol)
        self.books[symbol] = Book(bids, asks)
        self.update_id += 1
        trades = self._match_resting_against_book(symbol)
        return trades + self._trigger_stops(symbol)

    def trade_against_resting(self, symbol: str, price: Decimal, qty: Decimal) -> list[EmulatedTrade]:
        self.spec(symbol)
        left = qty
        trades: list[EmulatedTrade] = []
        for order in self.resting(symbol):
            if left <= 0:
                break
            if not order.is_open:  # ended by an order list while this loop ran
                continue
            crosses = order.price >= price if order.side == "BUY" else order.price <= price
            if not crosses:
                continue
            take = min(left, order.remaining)
            trades.append(self._fill(order, order.price, take, is_maker=True))
            left -= take
            self._finish_if_done(order)
        self.last_prices[symbol] = price  # the market traded there, with us or without
        return trades + self._trigger_stops(symbol)

    # ------------------------------------------------------------ balances

    def set_balance(self, asset: str, free: Decimal, locked: Decimal,
                    account: str | None = None) -> None:
        wallet = self.wallet(account)
        wallet.free[asset] = free
        wallet.locked[asset] = locked

    def balances(self, account: str | None = None) -> dict[str, tuple[Decimal, Decimal]]:
        """asset -> (free, locked), of the acting account or the one named."""
        w = self.wallet(account)
        return {a: (w.free.get(a, ZERO), w.locked.get(a, ZERO))
                for a in sorted(set(w.free) | set(w.locked))}

    # ------------------------------------------------------------ orders

    def find_order(self, params: Mapping[str, str]) -> EmulatedOrder | None:
        symbol = required(params, "symbol")
        self.spec(symbol)
        if params.get("orderId"):
            try:
                found = self.orders.get((symbol, int(params["orderId"])))
            except ValueError:
                raise BinanceApiError(400, -1100, "Illegal characters found in parameter 'orderId'.") from None
            # Another account's order does not exist for this one.
            return found if found is not None and found.account == self.account else None
        cid = params.get("origClientOrderId")
        if not cid:
            raise BinanceApiError(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
        # Binance resolves a client order ID to the most recent order that carries it.
        matches = [o for o in self.orders.values() if o.client_order_id == cid
                   and o.symbol == symbol and o.account == self.account]
        return matches[-1] if matches else None

    def resting(self, symbol: str) -> list[EmulatedOrder]:
        """The open orders that are in the book (not the stops still waiting for their
        trigger)."""
        return [o for o in self.orders.values()
                if o.symbol == symbol and o.is_open and o.working]

    def last_price(self, symbol: str) -> Decimal | None:
        """The symbol's latest trade price; before any trade, the book's mid."""
        return self.last_prices.get(symbol) or self._mid(symbol)

    def cancel(self, order: EmulatedOrder) -> None:
        self._close(order, "CANCELED")
        if order.order_list_id >= 0 and self.list_hook is not None:
            self.list_hook.cancelled(order)  # cancelling a leg cancels the list

    def check_new_order(self, params: Mapping[str, str]) -> None:
        """The checks Binance makes of a new order before anything happens: parameters and
        filters (`cancelReplace` makes them before its cancel). Raises `BinanceApiError`."""
        self._parse_new(params)

    def _parse_new(self, params: Mapping[str, str]) -> _NewOrder:
        symbol = required(params, "symbol")
        spec = self.spec(symbol)
        side = required(params, "side").upper()
        otype = required(params, "type").upper()
        if side not in ("BUY", "SELL"):
            raise BinanceApiError(400, -1100, "Illegal characters found in parameter 'side'.")
        if otype not in ("MARKET", *LIMIT_TYPES, *STOP_TYPES):
            raise BinanceApiError(400, -1116, "Invalid orderType.")
        if "quoteOrderQty" in params:
            raise BinanceApiError(400, -1128, "quoteOrderQty is not supported by this emulator.")
        qty = decimal_param(params, "quantity")
        tif = ""
        price = stop_price = ZERO
        if otype in STOP_TYPES:
            stop_price = decimal_param(params, "stopPrice")
        elif "stopPrice" in params:
            raise BinanceApiError(400, -1106, "Parameter 'stopPrice' sent when not required.")
        if otype in ("LIMIT", *STOP_LIMIT_TYPES):
            tif = required(params, "timeInForce").upper()
            if tif not in ("GTC", "IOC", "FOK"):
                raise BinanceApiError(400, -1115, "Invalid timeInForce.")
            price = decimal_param(params, "price")
        elif otype == "LIMIT_MAKER":
            # A LIMIT order that is rejected if it would trade as taker; it has no
            # timeInForce (it rests until filled or cancelled).
            if "timeInForce" in params:
                raise BinanceApiError(400, -1106, "Parameter 'timeInForce' sent when not required.")
            price = decimal_param(params, "price")
        elif "price" in params or "timeInForce" in params:
            raise BinanceApiError(400, -1106, "Parameter 'price' sent when not required.")
        order_id = self._last_order_id.get(symbol, 0) + 1
        cid = params.get("newClientOrderId") or f"emu-{symbol}-{order_id}"
        if len(cid) > 36:
            raise BinanceApiError(400, -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_.]{1,36}$'.")

        # Filters, in Binance's order.
        def off_filter(value: Decimal) -> bool:
            return (value < spec.min_price or value > spec.max_price
                    or (value - spec.min_price) % spec.tick_size != 0)

        if otype in PRICED_TYPES and off_filter(price):
            raise BinanceApiError(400, -1013, "Filter failure: PRICE_FILTER")
        if otype in STOP_TYPES and off_filter(stop_price):
            raise BinanceApiError(400, -1013, "Filter failure: PRICE_FILTER")
        if qty < spec.min_qty or qty > spec.max_qty or (qty - spec.min_qty) % spec.step_size != 0:
            raise BinanceApiError(400, -1013, "Filter failure: LOT_SIZE")
        book = self.books[symbol]
        reference = (price if otype in PRICED_TYPES else stop_price if otype in STOP_TYPES
                     else _reference_price(book, side))
        if reference is not None and qty * reference < spec.min_notional:
            raise BinanceApiError(400, -1013, "Filter failure: NOTIONAL")
        return _NewOrder(symbol, spec, side, otype, qty, tif, price, stop_price, cid, book,
                         order_id)

    def new_order(self, params: Mapping[str, str]) -> tuple[EmulatedOrder, list[EmulatedTrade]]:
        (symbol, spec, side, otype, qty, tif, price, stop_price, cid, book,
         order_id) = self._parse_new(params)
        # A reused client order ID is refused only while the first order is still open.
        if any(o.client_order_id == cid and o.is_open for o in self.own_orders()):
            raise BinanceApiError(400, -2010, "Duplicate order sent.")

        # Balance check: what the order can consume.
        if side == "BUY":
            need = (qty * price if otype in PRICED_TYPES else qty * stop_price
                    if otype in STOP_TYPES else _market_buy_cost(book, qty))
            if self.free.get(spec.quote, ZERO) < need:
                raise BinanceApiError(400, -2010, "Account has insufficient balance for requested action.")
        else:
            need = qty
            if self.free.get(spec.base, ZERO) < need:
                raise BinanceApiError(400, -2010, "Account has insufficient balance for requested action.")
        if otype == "LIMIT_MAKER" and _would_take(book, side, price):
            # Refused whole, before any order exists: nothing is placed, locked or filled.
            raise BinanceApiError(400, -2010, "Order would immediately match and take.")
        last = self.last_price(symbol)
        if otype in STOP_TYPES and last is not None and is_triggered(otype, side, stop_price, last):
            # Refused whole: a stop that fired on arrival would be another order.
            raise BinanceApiError(400, -2010, "Stop price would trigger immediately.")

        now = self._now()
        order = EmulatedOrder(
            order_id=order_id, client_order_id=cid, symbol=symbol, side=side,
            type=otype, time_in_force=tif or "GTC", price=price, orig_qty=qty, time_ms=now,
            update_time_ms=now, stop_price=stop_price, working=otype not in STOP_TYPES,
            working_time_ms=-1 if otype in STOP_TYPES else now, account=self.account,
        )
        self._last_order_id[symbol] = order_id
        self.orders[(symbol, order_id)] = order
        self.client_id_counts[cid] = self.client_id_counts.get(cid, 0) + 1
        if otype in PRICED_TYPES or otype in STOP_TYPES:
            lock_asset = spec.quote if side == "BUY" else spec.base
            at = price if otype in PRICED_TYPES else stop_price  # a STOP_LOSS buy: its stop
            order.locked = qty * at if side == "BUY" else qty
            self._move(lock_asset, order.locked, to_locked=True)
        if otype in STOP_TYPES:
            self._waiting.setdefault(symbol, []).append(order)
            return order, []  # waits for its trigger
        fills = self._execute(order)
        self._trigger_stops(symbol)  # its trades moved the last price: stops may trigger
        return order, fills

    def _execute(self, order: EmulatedOrder) -> list[EmulatedTrade]:
        """Match a working order against the book on arrival (or on being triggered):
        what crosses trades as taker, the rest rests (a limit) or expires (a market
        order, IOC, FOK)."""
        book = self.books[order.symbol]
        side, otype, qty = order.side, order.type, order.remaining
        tif = "" if otype in MARKET_LIKE else order.time_in_force
        levels = book.asks if side == "BUY" else book.bids
        limit = order.price if otype in PRICED_TYPES else None

        def crosses(level_price: Decimal) -> bool:
            if limit is None:
                return True
            return level_price <= limit if side == "BUY" else level_price >= limit

        if tif == "FOK":
            available = sum((lv[1] for lv in levels if crosses(lv[0])), ZERO)
            if available < qty:
                self._close(order, "EXPIRED")
                return []
        fills: list[EmulatedTrade] = []
        for level in levels:
            if order.remaining <= 0 or not crosses(level[0]):
                break
            take = min(order.remaining, level[1])
            level[1] -= take
            fills.append(self._fill(order, level[0], take, is_maker=False))
        book.prune()
        self.update_id += 1
        if order.remaining <= 0:
            self._close(order, "FILLED")
        elif otype in MARKET_LIKE or tif in ("IOC", "FOK"):
            self._close(order, "EXPIRED")
        return fills

    def _trigger_stops(self, symbol: str) -> list[EmulatedTrade]:
        """Trigger the waiting stops the last price has reached, oldest first, and execute
        each; its trades move the last price, which may trigger the next."""
        trades: list[EmulatedTrade] = []
        waiting = self._waiting.get(symbol)
        while waiting and (last := self.last_price(symbol)) is not None:
            due = next((o for o in waiting
                        if is_triggered(o.type, o.side, o.stop_price, last)), None)
            if due is None:
                break
            waiting.remove(due)
            due.working = True
            due.working_time_ms = due.update_time_ms = self._now()
            if due.order_list_id >= 0 and self.list_hook is not None:
                self.list_hook.triggered(due)  # the other leg ends before this one executes
            if due.type in STOP_MARKET_TYPES and due.locked > 0:  # it pays at market now
                spec = self.symbols[symbol]
                self._move(spec.quote if due.side == "BUY" else spec.base, due.locked,
                           to_locked=False, account=due.account)
                due.locked = ZERO
            trades.extend(self._execute(due))
        return trades

    # ------------------------------------------------------------ matching

    def _match_resting_against_book(self, symbol: str) -> list[EmulatedTrade]:
        book = self.books[symbol]
        trades: list[EmulatedTrade] = []
        for order in self.resting(symbol):
            if not order.is_open:  # ended by an order list while this loop ran
                continue
            levels = book.asks if order.side == "BUY" else book.bids
            for level in levels:
                if order.remaining <= 0:
                    break
                crosses = level[0] <= order.price if order.side == "BUY" else level[0] >= order.price
                if not crosses:
                    break
                take = min(order.remaining, level[1])
                level[1] -= take
                trades.append(self._fill(order, order.price, take, is_maker=True))
            book.prune()
            self._finish_if_done(order)
        return trades

    def _finish_if_done(self, order: EmulatedOrder) -> None:
        if order.remaining <= 0 and order.is_open:
            self._close(order, "FILLED")

    def _fill(self, order: EmulatedOrder, price: Decimal, qty: Decimal, *, is_maker: bool) -> EmulatedTrade:
        spec = self.symbols[order.symbol]
        wallet = self.wallets[order.account]  # the order's own, whoever moved the market
        free, locked = wallet.free, wallet.locked
        quote_qty = price * qty
        rate = spec.maker_fee if is_maker else spec.taker_fee
        commission, commission_asset = self._commission(spec, order.side, price, qty,
                                                        quote_qty, rate, wallet)
        if order.side == "BUY":
            if order.type in PRICED_TYPES:
                release = qty * order.price
                order.locked -= release
                locked[spec.quote] = locked.get(spec.quote, ZERO) - release
                free[spec.quote] = free.get(spec.quote, ZERO) + release - quote_qty
            else:
                free[spec.quote] = free.get(spec.quote, ZERO) - quote_qty
            free[spec.base] = free.get(spec.base, ZERO) + qty
        else:
            if order.type in PRICED_TYPES:
                order.locked -= qty
                locked[spec.base] = locked.get(spec.base, ZERO) - qty
            else:
                free[spec.base] = free.get(spec.base, ZERO) - qty
            free[spec.quote] = free.get(spec.quote, ZERO) + quote_qty
        free[commission_asset] = free.get(commission_asset, ZERO) - commission
        now = self._now()
        trade_id = self._last_trade_id.get(order.symbol, 0) + 1
        self._last_trade_id[order.symbol] = trade_id
        trade = EmulatedTrade(
            trade_id=trade_id, order_id=order.order_id,
            client_order_id=order.client_order_id, symbol=order.symbol, side=order.side,
            price=price, qty=qty, quote_qty=quote_qty, commission=commission,
            commission_asset=commission_asset, time_ms=now, is_maker=is_maker,
            account=order.account,
        )
        self.trades.append(trade)
        self.last_prices[order.symbol] = price
        order.executed_qty += qty
        order.cummulative_quote_qty += quote_qty
        order.trade_ids.append(trade.trade_id)
        order.update_time_ms = now
        if order.is_open and order.remaining > 0:
            order.status = "PARTIALLY_FILLED"
        if order.order_list_id >= 0 and self.list_hook is not None:
            self.list_hook.filled(order)  # a leg's fill, even partial, ends the other
        return trade

    def _commission(self, spec: SymbolSpec, side: str, price: Decimal, qty: Decimal,
                    quote_qty: Decimal, rate: Decimal, wallet: Wallet) -> tuple[Decimal, str]:
        """What a trade costs, in which asset. Binance's default: the buyer pays in the asset
        received (base), the seller in the quote. With BNB paying the fees (`pay_fees_in_bnb`,
        Binance's "BNB burn") and enough BNB free, the commission is the quote value less
        the 25% discount, in BNB at the BNB/quote mid (the trade's price on BNB's own
        symbols): a BTCUSDT trade then charges BNB, an asset it neither buys nor sells."""
        if wallet.pay_fees_in_bnb:
            bnb_price = price if spec.base == BNB else self._mid(f"{BNB}{spec.quote}")
            if bnb_price is not None and bnb_price > 0:
                fee = (quote_qty * rate * (1 - BNB_DISCOUNT) / bnb_price).quantize(_EIGHT)
                if fee > 0 and wallet.free.get(BNB, ZERO) >= fee:
                    return fee, BNB
        if side == "BUY":
            return (qty * rate).quantize(_EIGHT), spec.base
        return (quote_qty * rate).quantize(_EIGHT), spec.quote

    def _mid(self, symbol: str) -> Decimal | None:
        book = self.books.get(symbol)
        if book is None or not book.bids or not book.asks:
            return None
        return (book.bids[0][0] + book.asks[0][0]) / 2

    def _close(self, order: EmulatedOrder, status: str) -> None:
        """Move an order to a final status and release whatever it still had locked."""
        spec = self.symbols[order.symbol]
        if not order.working:  # a stop cancelled before its trigger
            self._waiting[order.symbol].remove(order)
        if order.locked > 0:
            asset = spec.quote if order.side == "BUY" else spec.base
            self._move(asset, order.locked, to_locked=False, account=order.account)
            order.locked = ZERO
        order.status = status
        order.update_time_ms = self._now()

    def _move(self, asset: str, amount: Decimal, *, to_locked: bool,
              account: str | None = None) -> None:
        wallet = self.wallet(account)
        sign = 1 if to_locked else -1
        wallet.free[asset] = wallet.free.get(asset, ZERO) - sign * amount
        wallet.locked[asset] = wallet.locked.get(asset, ZERO) + sign * amount


# ---------------------------------------------------------------- helpers


def required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise BinanceApiError(
            400, -1102,
            f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
    return value


def decimal_param(params: Mapping[str, str], name: str) -> Decimal:
    text = required(params, name)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BinanceApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'.") from None
    if not value.is_finite() or value < 0:
        raise BinanceApiError(400, -1100, f"Illegal characters found in parameter '{name}'.")
    return value


def _would_take(book: Book, side: str, price: Decimal) -> bool:
    """A buy at or above the best ask, a sell at or below the best bid: it would match at
    once, as taker."""
    if side == "BUY":
        return bool(book.asks) and book.asks[0][0] <= price
    return bool(book.bids) and book.bids[0][0] >= price


def _reference_price(book: Book, side: str) -> Decimal | None:
    """The price a market order's notional is checked at: the best opposite price."""
    levels = book.asks if side == "BUY" else book.bids
    return levels[0][0] if levels else None


def _market_buy_cost(book: Book, qty: Decimal) -> Decimal:
    cost, left = ZERO, qty
    for price, size in book.asks:
        take = min(left, size)
        cost += take * price
        left -= take
        if left <= 0:
            break
    return cost
