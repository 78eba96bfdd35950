"""A local emulator of Binance's spot REST API, for tests and the crash test.

ccxt's real `binance` class talks to it unchanged except for its URLs (see
`ccxt_urls`/`ccxt_config`), so signing, parsing and error mapping are exercised for real.

What it serves (the market itself, books, balances and matching, is `binance_market.py`):
- public market data (`/api/v3/ping`, `time`, `exchangeInfo`, `depth`, `ticker/24hr`,
  `ticker/bookTicker`) shaped like Binance's, filters included;
- signed private endpoints (HMAC-SHA256, `X-MBX-APIKEY`, timestamp/recvWindow check):
  `account`, `order` (POST/GET/DELETE), `order/cancelReplace`
  (`binance_cancel_replace.py`), `openOrders`, `myTrades`, and OCO order lists
  (`orderList/oco`, `orderList`: `binance_oco.py`);
- Binance's own error JSON and HTTP statuses (-1013 filter failures, -2010 insufficient
  balance and "Duplicate order sent." while the first order with that client order ID is
  still open, -2013, -2011, -1121, -1022, -2014/-2015, -1021, -1102);
- fault injection by method + path (and, if told, the signing key): delay the response
  (after or before processing; `detached`: a request delayed before processing still
  executes if the client hangs up, as a request in a real venue's pipeline does), answer
  a status (503, 429 with Retry-After, 418, 500 ...) without processing, or drop the
  connection before or after processing (`binance_faults.py`). Through the Python API
  and `/_admin/faults`;
- several API keys, each its own account as on Binance (`add_account`): balances,
  orders, open orders, trades, order lists and client order IDs scoped by the key that
  signed the request (the same clientOrderId under two keys is two orders; another key's
  orderId is -2013 "Order does not exist."), the symbols, books and ID sequences shared;
  an unknown key is 401 -2015. The key given to the constructor is the default account,
  which every test-facing method means when it is not told a key;
- a venue clock set off ours (`set_clock_offset`), filters changed while running
  (`set_filters`), an account paying its fees in BNB (`pay_fees_in_bnb`), through the
  Python API and `/_admin/clock`, `/_admin/filters`, `/_admin/account`.

Run it in-process (`async with BinanceEmulator() as emu`), in a background thread for
sync tests (`BinanceEmulatorThread`: `binance_emulator_thread.py`), or as its own process
(`python -m ordergate.testing.binance_emulator --port 0`: `binance_emulator_cli.py`).

Here: the emulator's state, lifecycle and test-facing API, but for its fault levers
(`delay_next`, `fail_next`, `drop_next`: `binance_fault_injection.py`); its HTTP app,
built and served, is `binance_app.py`. The public market-data endpoints are
`binance_public.py`, the private (signed) order and account ones `binance_private.py`,
order lists `binance_oco.py`, cancel-replace `binance_cancel_replace.py`, the `/_admin/`
ones `binance_admin.py`; signing `binance_signing.py`, faults and error answers on every
request `binance_middleware.py`, the state as JSON and its file `binance_state.py`; the
market `binance_market.py`, its matching `binance_matching.py` and each trade's settlement
`binance_settlement.py`.

Everything binds 127.0.0.1 only. Money is `Decimal` throughout.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from ordergate.testing.binance_app import HOST, start_app, stop_app
from ordergate.testing.binance_cancel_replace import CancelReplace
from ordergate.testing.binance_emulator_thread import BinanceEmulatorThread
from ordergate.testing.binance_fault_injection import FaultInjection
from ordergate.testing.binance_faults import Fault, FaultKind
from ordergate.testing.binance_oco import OrderLists
from ordergate.testing.binance_signing import ACCOUNT as SIGNING_ACCOUNT
from ordergate.testing.binance_state import state_json, write_state_file
from ordergate.testing.send_log import SendLog
from ordergate.testing.binance_market import (
    DEFAULT_BALANCES,
    DEFAULT_BOOKS,
    DEFAULT_SYMBOLS,
    BinanceApiError,
    BinanceMarket,
    EmulatedOrder,
    EmulatedTrade,
    Level,
    SymbolSpec,
    dec,
    now_ms,
)

__all__ = [
    "DEFAULT_API_KEY", "DEFAULT_API_SECRET", "DEFAULT_BALANCES", "DEFAULT_BOOKS",
    "DEFAULT_SYMBOLS", "HOST", "BinanceApiError", "BinanceEmulator", "BinanceEmulatorThread",
    "EmulatedOrder", "EmulatedTrade", "Fault", "FaultKind", "Level", "SymbolSpec",
]

DEFAULT_API_KEY = "emulator-api-key-7f3a9c1e5b2d4068"
DEFAULT_API_SECRET = "emulator-api-secret-1b8e6d0c4a9f2e73"

# ---------------------------------------------------------------- the emulator


class BinanceEmulator(FaultInjection):
    """Binance spot REST, emulated on 127.0.0.1. See the module docstring.

    Every public method is thread-safe (one lock around the state), so a sync test can
    drive an emulator running in `BinanceEmulatorThread`."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
        symbols: Iterable[SymbolSpec] = DEFAULT_SYMBOLS,
        books: Mapping[str, tuple[Sequence[Level], Sequence[Level]]] | None = None,
        balances: Mapping[str, Decimal | str | int] | None = None,
        port: int = 0,
        state_file: str | Path | None = None,
        check_timestamp: bool = True,
    ) -> None:
        self.api_key = api_key
        """The default key: its account is the one the test-facing methods mean when they
        are not told a key (`add_account` adds others)."""
        self._secret = api_secret.encode()
        self._secrets: dict[str, bytes] = {api_key: self._secret}
        """Every API key served, with its secret; each key is its own account."""
        self.port = port
        self.state_file = Path(state_file) if state_file is not None else None
        self.check_timestamp = check_timestamp
        self._lock = threading.RLock()
        self.clock_offset_ms = 0
        """The venue's clock minus ours (`set_clock_offset`): what `/api/v3/time` answers,
        what signed timestamps are judged by, what orders and trades are stamped with."""
        self.market = BinanceMarket(symbols, books, balances, clock=self.server_time_ms,
                                    account=api_key)
        """The state and the matching model (`binance_market.py`); use it under the lock."""
        self.order_lists = OrderLists(self.market)
        """OCO order lists (`binance_oco.py`), tying their legs in the market."""
        self._faults: list[Fault] = []
        self.cancel_replace = CancelReplace(self)
        """`POST /api/v3/order/cancelReplace` (`binance_cancel_replace.py`)."""
        self._requests: list[tuple[str, str, int]] = []
        self.sends = SendLog()
        """Order requests, outright refusals and absent lookups by client order ID, in
        order (`binance_middleware.py`): whether anything was sent twice unlooked."""
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await start_app(self)

    async def stop(self) -> None:
        await stop_app(self)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` (no trailing slash); the REST API is under /api/v3."""
        return f"http://{HOST}:{self.port}"

    def ccxt_urls(self) -> dict[str, str]:
        """The `urls['api']` entries to override on a ccxt binance instance."""
        return {"public": f"{self.base_url}/api/v3", "private": f"{self.base_url}/api/v3"}

    def ccxt_config(self, api_key: str | None = None, **extra: Any) -> dict[str, Any]:
        """A ccxt binance config that stays on this emulator (see peers.md), signing with
        `api_key` (default: the default key)."""
        key = self.api_key if api_key is None else api_key
        config: dict[str, Any] = {
            "apiKey": key,
            "secret": self._secrets[key].decode(),
            "urls": {"api": self.ccxt_urls()},
            "options": {
                "fetchCurrencies": False,
                "fetchMargins": False,
                "fetchMarkets": {"types": ["spot"]},
            },
        }
        config.update(extra)
        return config

    # ------------------------------------------------------------ test-facing API: accounts

    def add_account(self, api_key: str, api_secret: str,
                    balances: Mapping[str, Decimal | str | int] | None = None) -> None:
        """Serve another API key, its own account with its own `balances` (default:
        `DEFAULT_BALANCES`), orders, trades and client order IDs, as a second Binance
        account (or sub-account) with its own key is."""
        with self._lock:
            if api_key in self._secrets:
                raise ValueError(f"API key {api_key!r} is served already")
            self.market.add_account(api_key, DEFAULT_BALANCES if balances is None else balances)
            self._secrets[api_key] = api_secret.encode()
            self._persist()

    @property
    def api_keys(self) -> list[str]:
        """Every key served, the default first."""
        with self._lock:
            return list(self._secrets)

    def _account(self, api_key: str | None) -> str:
        key = self.api_key if api_key is None else api_key
        if key not in self._secrets:
            raise KeyError(f"no account with API key {key!r}")
        return key

    # ------------------------------------------------------------ test-facing API: market

    def add_symbol(self, spec: SymbolSpec) -> None:
        with self._lock:
            self.market.add_symbol(spec)

    def set_filters(self, symbol: str, **rules: Decimal | str | int) -> SymbolSpec:
        """Change a listed symbol's filters while running, as Binance does now and then:
        any of tick_size, step_size, min_qty, max_qty, min_notional, min_price, max_price.
        exchangeInfo publishes them and new orders are checked against them from now on
        (resting orders are left as they are). Returns the new rules."""
        unknown = set(rules) - _FILTER_FIELDS
        if unknown:
            raise ValueError(f"not a filter of a symbol: {sorted(unknown)}")
        with self._lock:
            changes: dict[str, Any] = {k: dec(v) for k, v in rules.items()}
            spec = replace(self.market.spec(symbol), **changes)
            self.market.add_symbol(spec)
            self._persist()
            return spec

    def remove_symbol(self, symbol: str) -> None:
        """Delist a symbol: from now on it answers -1121 "Invalid symbol."."""
        with self._lock:
            self.market.remove_symbol(symbol)

    def set_book(self, symbol: str, bids: Sequence[Level], asks: Sequence[Level]) -> list[EmulatedTrade]:
        """Replace the book. Resting orders the new book crosses fill (as makers, at their
        own limit price) against it. Returns the trades this produced."""
        with self._lock:
            trades = self.market.set_book(symbol, bids, asks)
            self._persist()
            return trades

    def book(self, symbol: str) -> tuple[list[Level], list[Level]]:
        with self._lock:
            b = self.market.books[symbol]
            return [(p, q) for p, q in b.bids], [(p, q) for p, q in b.asks]

    def trade_against_resting(self, symbol: str, price: Decimal | str, qty: Decimal | str) -> list[EmulatedTrade]:
        """A market participant trades `qty` at `price`: resting orders whose limit the
        price reaches fill (time priority, at their own limit price, as makers), up to `qty`
        in total. Returns the trades."""
        with self._lock:
            trades = self.market.trade_against_resting(symbol, dec(price), dec(qty))
            self._persist()
            return trades

    def pay_fees_in_bnb(self, enabled: bool = True, *, api_key: str | None = None) -> None:
        """The account's "use BNB to pay for fees" (Binance's BNB burn): while the account
        has enough BNB, every trade's commission is charged in BNB, 25% off, at the
        BNB/quote mid; without enough BNB, as usual."""
        with self._lock:
            self.market.wallet(self._account(api_key)).pay_fees_in_bnb = bool(enabled)
            self._persist()

    # ------------------------------------------------------------ test-facing API: clock

    def server_time_ms(self) -> int:
        """The venue's time now, in epoch milliseconds: ours plus `clock_offset_ms`."""
        return now_ms() + self.clock_offset_ms

    def set_clock_offset(self, offset_ms: int) -> None:
        """Set the venue's clock `offset_ms` ahead of ours (negative: behind). A client
        whose clock is ahead of the venue's by 1000 ms or more is refused with -1021."""
        with self._lock:
            self.clock_offset_ms = int(offset_ms)
            self._persist()

    # ------------------------------------------------------------ test-facing API: balances

    def set_balance(self, asset: str, free: Decimal | str | int, locked: Decimal | str | int = 0,
                    *, api_key: str | None = None) -> None:
        with self._lock:
            self.market.set_balance(asset, dec(free), dec(locked), self._account(api_key))
            self._persist()

    def balances(self, api_key: str | None = None) -> dict[str, tuple[Decimal, Decimal]]:
        """asset -> (free, locked), of the key's account (default: the default key's)."""
        with self._lock:
            return self.market.balances(self._account(api_key))

    # ------------------------------------------------------------ test-facing API: inspection

    @property
    def orders(self) -> list[EmulatedOrder]:
        """Every order ever accepted, under any key, oldest first (live objects: do not
        mutate; `EmulatedOrder.account` is the key's)."""
        with self._lock:
            return list(self.market.orders.values())

    def orders_of(self, api_key: str) -> list[EmulatedOrder]:
        """The orders placed with one key, oldest first."""
        with self._lock:
            return [o for o in self.market.orders.values() if o.account == api_key]

    @property
    def trades(self) -> list[EmulatedTrade]:
        with self._lock:
            return list(self.market.trades)

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of every API request served, in order (admin excluded)."""
        with self._lock:
            return list(self._requests)

    def client_order_id_counts(self, api_key: str | None = None) -> dict[str, int]:
        """How many venue orders were created per client order ID, under one key (default:
        the default key; the same ID under two keys is two accounts' orders)."""
        with self._lock:
            return dict(self.market.wallet(self._account(api_key)).client_id_counts)

    def client_order_id_counts_by_key(self) -> dict[str, dict[str, int]]:
        """`client_order_id_counts` of every key served."""
        with self._lock:
            return {k: dict(w.client_id_counts) for k, w in self.market.wallets.items()}

    def orders_by_client_id(self, client_order_id: str,
                            api_key: str | None = None) -> list[EmulatedOrder]:
        """The orders with that client order ID, under any key (or under `api_key`)."""
        with self._lock:
            return [o for o in self.market.orders.values() if o.client_order_id == client_order_id
                    and (api_key is None or o.account == api_key)]

    def order(self, symbol: str, order_id: int) -> EmulatedOrder | None:
        """One order by symbol and order ID (order IDs are numbered per symbol)."""
        with self._lock:
            return self.market.orders.get((symbol, int(order_id)))

    def trades_of(self, order: EmulatedOrder) -> list[EmulatedTrade]:
        """The trades of one order, oldest first (its ID alone is ambiguous across symbols)."""
        with self._lock:
            return [t for t in self.market.trades
                    if t.symbol == order.symbol and t.order_id == order.order_id]

    def state(self) -> dict[str, Any]:
        """Everything, JSON-ready: what `GET /_admin/state` and the state file hold
        (`binance_state.py`)."""
        return state_json(self)

    # ------------------------------------------------------------ HTTP plumbing

    @contextmanager
    def acting(self, request: web.Request) -> Iterator[BinanceMarket]:
        """The lock, with the market acting for the account whose key signed `request`
        (`signed_params` first): what a private endpoint reads and changes is that
        account's."""
        with self._lock:
            previous = self.market.account
            self.market.account = request.get(SIGNING_ACCOUNT, self.api_key)
            try:
                yield self.market
            finally:
                self.market.account = previous

    # ------------------------------------------------------------ persistence

    def _persist(self) -> None:
        """Write the whole state atomically to the state file, if there is one."""
        write_state_file(self)



_FILTER_FIELDS = frozenset({"tick_size", "step_size", "min_qty", "max_qty", "min_notional",
                            "min_price", "max_price"})


def _json_response(data: Any, status: int = 200) -> web.Response:
    """JSON the way Binance writes it: compact, no spaces."""
    return web.json_response(data, status=status, dumps=_compact_dumps)


def _compact_dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


if __name__ == "__main__":  # python -m ordergate.testing.binance_emulator: its own process
    from ordergate.testing.binance_emulator_cli import main

    main()
