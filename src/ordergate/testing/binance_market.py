"""The Binance emulator's market: symbols and their rules, books, the accounts' balances,
orders and trades, and the matching model. No HTTP here (`binance_emulator.py` serves it).

What it models, deterministically:
- an order book per symbol set by the test: market orders walk the levels and produce
  one trade per level, running out of liquidity leaves them EXPIRED with a partial fill;
  limit orders fill what crosses and the rest rests OPEN until `trade_against_resting` or
  a new book (`set_book`) fills it;
- Binance's filters (PRICE_FILTER, LOT_SIZE, NOTIONAL) and refusals (-2010 insufficient
  balance, "Duplicate order sent." while an order with that client order ID is open,
  "Order would immediately match and take." for a LIMIT_MAKER that would trade as taker),
  checked before an order exists (`binance_new_order`);
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
  account pays its fees in BNB: `binance_fees`);
- several accounts (`Wallet`, one per API key, as on Binance): each its own balances,
  orders, trades, client order IDs and fee setting, sharing the symbols, the books and
  the ID sequences. `account` names the one acting (the emulator sets it, under its lock,
  to the account of the key that signed the request); an order's fills and releases go to
  its own account's wallet whoever moved the market;
- order and trade IDs numbered per symbol, as Binance does: each symbol has its own two
  sequences, starting at small numbers (1), so two symbols' trades share IDs.

Here: the market, its accounts, books and orders, and what changes them. The records it
holds (symbols' rules, orders, trades, books, wallets) and Binance's error and amount
format are `binance_records`, re-exported here; the matching (an order against the book,
resting orders against a new book, the stops' triggers) `binance_matching`; the settlement
of each trade (balances, commission, the trade record) `binance_settlement`.

Not thread-safe by itself: the emulator holds one lock around every call. Money is
`Decimal` throughout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from ordergate.testing.binance_fees import BNB, BNB_DISCOUNT
from ordergate.testing.binance_matching import (
    execute_order,
    match_resting_against_book,
    trigger_stops,
)
from ordergate.testing.binance_new_order import (
    decimal_param,
    parse_new_order,
    refuse_new_order,
    required,
)
from ordergate.testing.binance_records import (
    DEFAULT_ACCOUNT,
    DEFAULT_BALANCES,
    DEFAULT_BOOKS,
    DEFAULT_SYMBOLS,
    LIMIT_TYPES,
    MARKET_LIKE,
    PRICED_TYPES,
    ZERO,
    BinanceApiError,
    Book,
    EmulatedOrder,
    EmulatedTrade,
    Level,
    SymbolSpec,
    Wallet,
    dec,
    fmt,
    now_ms,
)
from ordergate.testing.binance_settlement import fill_order
from ordergate.testing.binance_stops import STOP_TYPES

__all__ = [
    "BNB", "BNB_DISCOUNT", "DEFAULT_ACCOUNT", "DEFAULT_BALANCES", "DEFAULT_BOOKS",
    "DEFAULT_SYMBOLS", "LIMIT_TYPES", "MARKET_LIKE", "PRICED_TYPES", "ZERO", "BinanceApiError",
    "BinanceMarket", "Book", "EmulatedOrder", "EmulatedTrade", "Level", "ListHook",
    "SymbolSpec", "Wallet", "dec", "decimal_param", "fmt", "now_ms", "required",
]


# ---------------------------------------------------------------- the market


class ListHook(Protocol):
    """Told of what happens to an order that is a leg of an order list (`binance_oco`), so
    the list can end its other legs: a fill (even partial), a stop's trigger (before it
    executes), a cancel."""

    def filled(self, order: EmulatedOrder) -> None: ...

    def triggered(self, order: EmulatedOrder) -> None: ...

    def cancelled(self, order: EmulatedOrder) -> None: ...


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
        trades = match_resting_against_book(self, symbol)
        return trades + trigger_stops(self, symbol)

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
            trades.append(fill_order(self, order, order.price, take, is_maker=True))
            left -= take
            self._finish_if_done(order)
        self.last_prices[symbol] = price  # the market traded there, with us or without
        return trades + trigger_stops(self, symbol)

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
        parse_new_order(self, params)

    def new_order(self, params: Mapping[str, str]) -> tuple[EmulatedOrder, list[EmulatedTrade]]:
        new = parse_new_order(self, params)
        refuse_new_order(self, new)  # duplicate, funds, would take, would trigger: -2010
        (symbol, spec, side, otype, qty, tif, price, stop_price, cid, book,
         order_id) = new

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
        fills = execute_order(self, order)
        trigger_stops(self, symbol)  # its trades moved the last price: stops may trigger
        return order, fills

    # ------------------------------------------------------------ closing, the mid, locking

    def _finish_if_done(self, order: EmulatedOrder) -> None:
        if order.remaining <= 0 and order.is_open:
            self._close(order, "FILLED")

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
