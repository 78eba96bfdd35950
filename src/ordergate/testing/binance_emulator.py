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
sync tests (`BinanceEmulatorThread`), or as its own process::

    python -m ordergate.testing.binance_emulator --port 8765 --state-file state.json
    python -m ordergate.testing.binance_emulator --port 0 --balance BTC=0 --stop-on-eof

(`--port 0` picks a free port and prints it: "binance emulator listening on URL";
`--stop-on-eof` stops it when its standard input closes, so it cannot outlive the process
that started it with a pipe there.)

Everything binds 127.0.0.1 only. Money is `Decimal` throughout.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl

from aiohttp import web

from ordergate.testing.binance_cancel_replace import PATH as CANCEL_REPLACE_PATH
from ordergate.testing.binance_cancel_replace import CancelReplace
from ordergate.testing.binance_faults import Fault, FaultKind, drop, status_response
from ordergate.testing.binance_oco import OrderLists
from ordergate.testing.binance_oco import add_routes as add_oco_routes
from ordergate.testing.binance_market import (
    DEFAULT_BALANCES,
    DEFAULT_BOOKS,
    DEFAULT_SYMBOLS,
    ZERO,
    BinanceApiError,
    BinanceMarket,
    EmulatedOrder,
    EmulatedTrade,
    Level,
    SymbolSpec,
    dec,
    fmt,
    now_ms,
    required,
)

__all__ = [
    "DEFAULT_API_KEY", "DEFAULT_API_SECRET", "DEFAULT_BALANCES", "DEFAULT_BOOKS",
    "DEFAULT_SYMBOLS", "HOST", "BinanceApiError", "BinanceEmulator", "BinanceEmulatorThread",
    "EmulatedOrder", "EmulatedTrade", "Fault", "FaultKind", "Level", "SymbolSpec", "main",
]

DEFAULT_API_KEY = "emulator-api-key-7f3a9c1e5b2d4068"
DEFAULT_API_SECRET = "emulator-api-secret-1b8e6d0c4a9f2e73"
HOST = "127.0.0.1"

# ---------------------------------------------------------------- the emulator


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BinanceEmulator:
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
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        self._add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True,
                                     shutdown_timeout=1.0)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, HOST, self.port)
        await self._site.start()
        server = self._site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1])
        self._persist()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None

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
        """Everything, JSON-ready: what `GET /_admin/state` and the state file hold."""
        with self._lock:
            return {
                "base_url": self.base_url,
                "orders": [o.to_json() | {"account": o.account}
                           for o in self.market.orders.values()],
                "trades": [t.to_json() | {"clientOrderId": t.client_order_id,
                                          "account": t.account}
                           for t in self.market.trades],
                "client_order_id_counts": self.client_order_id_counts(),
                "balances": self._balances_json(self.api_key),
                "books": {s: {"bids": [[fmt(p), fmt(q)] for p, q in b.bids],
                              "asks": [[fmt(p), fmt(q)] for p, q in b.asks]}
                          for s, b in self.market.books.items()},
                "faults": [f.to_json() for f in self._faults],
                "clock_offset_ms": self.clock_offset_ms,
                "pay_fees_in_bnb": self.market.wallet(self.api_key).pay_fees_in_bnb,
                "accounts": {
                    key: {"balances": self._balances_json(key),
                          "client_order_id_counts": dict(w.client_id_counts),
                          "pay_fees_in_bnb": w.pay_fees_in_bnb}
                    for key, w in self.market.wallets.items()},
            }

    def _balances_json(self, api_key: str) -> dict[str, dict[str, str]]:
        return {a: {"free": fmt(f), "locked": fmt(lk)}
                for a, (f, lk) in self.market.balances(api_key).items()}

    # ------------------------------------------------------------ test-facing API: faults

    def inject_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
            return fault

    def delay_next(self, method: str, path: str, seconds: float, *, count: int = 1,
                   after_processing: bool = True, detached: bool = False,
                   api_key: str | None = None) -> Fault:
        """Delay the answer to the next `count` matching requests by `seconds` (by default
        after the request took effect: the client times out but the order exists).
        Before processing, `detached` has the request take effect after the delay even if
        the client has gone (see `Fault`)."""
        return self.inject_fault(Fault(method, path, "delay", count=count, delay_s=seconds,
                                       after_processing=after_processing, detached=detached,
                                       api_key=api_key))

    def fail_next(self, method: str, path: str, status: int = 503, *, count: int = 1,
                  retry_after: float | None = None, body: str | None = None,
                  api_key: str | None = None) -> Fault:
        """Answer the next `count` matching requests with `status`, without processing
        (`api_key`: only those signed with that key)."""
        return self.inject_fault(Fault(method, path, "status", count=count, status=status,
                                       retry_after=retry_after, body=body,
                                       after_processing=False, api_key=api_key))

    def drop_next(self, method: str, path: str, *, count: int = 1,
                  after_processing: bool = False, api_key: str | None = None) -> Fault:
        """Close the connection without an answer, before (default) or after processing."""
        return self.inject_fault(Fault(method, path, "drop", count=count,
                                       after_processing=after_processing, api_key=api_key))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # ------------------------------------------------------------ HTTP plumbing

    def _add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/api/v3/ping", self._h_ping)
        r.add_get("/api/v3/time", self._h_time)
        r.add_get("/api/v3/exchangeInfo", self._h_exchange_info)
        r.add_get("/api/v3/depth", self._h_depth)
        r.add_get("/api/v3/ticker/bookTicker", self._h_book_ticker)
        r.add_get("/api/v3/ticker/24hr", self._h_ticker_24hr)
        r.add_get("/api/v3/account", self._h_account)
        r.add_post("/api/v3/order", self._h_new_order)
        r.add_get("/api/v3/order", self._h_query_order)
        r.add_delete("/api/v3/order", self._h_cancel_order)
        r.add_post(CANCEL_REPLACE_PATH, self.cancel_replace.handle)
        r.add_get("/api/v3/openOrders", self._h_open_orders)
        r.add_get("/api/v3/myTrades", self._h_my_trades)
        add_oco_routes(self, r)  # POST /api/v3/orderList/oco, DELETE and GET /api/v3/orderList
        r.add_get("/_admin/state", self._h_admin_state)
        r.add_post("/_admin/faults", self._h_admin_add_fault)
        r.add_delete("/_admin/faults", self._h_admin_clear_faults)
        r.add_post("/_admin/book", self._h_admin_book)
        r.add_post("/_admin/trade", self._h_admin_trade)
        r.add_post("/_admin/balance", self._h_admin_balance)
        r.add_post("/_admin/clock", self._h_admin_clock)
        r.add_post("/_admin/filters", self._h_admin_filters)
        r.add_post("/_admin/account", self._h_admin_account)
        r.add_post("/_admin/accounts", self._h_admin_add_account)

    def _take_fault(self, method: str, path: str, api_key: str | None = None) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path, api_key):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.count -= 1
                    fault.hits += 1
                    return fault
            return None

    def _record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._requests.append((method, path, status))

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_admin/"):
            return await handler(request)
        fault = self._take_fault(request.method, request.path,
                                 request.headers.get("X-MBX-APIKEY"))
        if fault is not None and fault.kind == "status":
            self._record(request.method, request.path, fault.status)
            return status_response(fault)
        if fault is not None and fault.kind == "drop" and not fault.after_processing:
            self._record(request.method, request.path, 0)
            return drop(request)
        if fault is not None and fault.kind == "delay" and not fault.after_processing:
            if fault.detached:
                await request.read()  # taken in whole: the venue has it, whatever the client does
                # shield: the client hanging up cancels this coroutine, not the processing.
                return await asyncio.shield(self._process_late(request, handler, fault.delay_s))
            await asyncio.sleep(fault.delay_s)
        response = await self._process(request, handler)
        if fault is not None and fault.kind == "drop":
            return drop(request)
        if fault is not None and fault.kind == "delay" and fault.after_processing:
            await asyncio.sleep(fault.delay_s)
        return response

    async def _process(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except BinanceApiError as err:
            response = _json_response({"code": err.code, "msg": err.msg}, status=err.http_status)
        self._record(request.method, request.path, response.status)
        return response

    async def _process_late(self, request: web.Request, handler: Handler,
                            delay_s: float) -> web.StreamResponse:
        await asyncio.sleep(delay_s)
        return await self._process(request, handler)

    async def _params(self, request: web.Request) -> dict[str, str]:
        params = dict(parse_qsl(request.query_string, keep_blank_values=True))
        if request.body_exists:  # (not can_read_body: a body read before is still there)
            params.update(parse_qsl(await request.text(), keep_blank_values=True))
        return params

    async def _signed(self, request: web.Request) -> dict[str, str]:
        """Authenticate like Binance: API key header, HMAC-SHA256 of the total parameter
        string (query string then body) without the signature, timestamp in recvWindow."""
        key = request.headers.get("X-MBX-APIKEY")
        if not key:
            raise BinanceApiError(401, -2014, "API-key format invalid.")
        with self._lock:
            secret = self._secrets.get(key)
        if secret is None:
            raise BinanceApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        body = await request.text() if request.body_exists else ""
        # Binance signs totalParams = query string concatenated with the body (no separator).
        signatures: list[str] = []
        cleaned: list[str] = []
        for part in (request.query_string, body):
            pieces = part.split("&") if part else []
            signatures += [p[len("signature="):] for p in pieces if p.startswith("signature=")]
            cleaned.append("&".join(p for p in pieces if not p.startswith("signature=")))
        if len(signatures) != 1:
            raise BinanceApiError(400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
        payload = cleaned[0] + cleaned[1]
        expected = hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signatures[0].lower()):
            raise BinanceApiError(400, -1022, "Signature for this request is not valid.")
        params = dict(parse_qsl(cleaned[0], keep_blank_values=True))
        params.update(parse_qsl(cleaned[1], keep_blank_values=True))
        ts_text = params.get("timestamp")
        if ts_text is None or not ts_text.isdigit():
            raise BinanceApiError(400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
        if self.check_timestamp:
            # Binance: process only if timestamp < serverTime + 1000 and
            # serverTime - timestamp <= recvWindow (5000 by default, 60000 at most).
            try:
                recv_window = Decimal(params.get("recvWindow", "5000") or "5000")
            except InvalidOperation:
                raise BinanceApiError(400, -1100, "Illegal characters found in parameter 'recvWindow'.") from None
            if not recv_window.is_finite() or recv_window > 60000:
                raise BinanceApiError(400, -1131, "recvWindow must be less than 60000")
            now, ts = self.server_time_ms(), int(ts_text)
            if ts >= now + 1000:
                raise BinanceApiError(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
            if now - ts > recv_window:
                raise BinanceApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        request[_ACCOUNT] = key  # whose request: `acting` scopes the state to it
        return params

    @contextmanager
    def acting(self, request: web.Request) -> Iterator[BinanceMarket]:
        """The lock, with the market acting for the account whose key signed `request`
        (`_signed` first): what a private endpoint reads and changes is that account's."""
        with self._lock:
            previous = self.market.account
            self.market.account = request.get(_ACCOUNT, self.api_key)
            try:
                yield self.market
            finally:
                self.market.account = previous

    # ------------------------------------------------------------ public endpoints

    async def _h_ping(self, request: web.Request) -> web.StreamResponse:
        return _json_response({})

    async def _h_time(self, request: web.Request) -> web.StreamResponse:
        return _json_response({"serverTime": self.server_time_ms()})

    async def _h_exchange_info(self, request: web.Request) -> web.StreamResponse:
        params = await self._params(request)
        with self._lock:
            wanted = self._symbols_param(params)
            symbols = [self._symbol_info(self.market.symbols[s]) for s in wanted]
        return _json_response({
            "timezone": "UTC",
            "serverTime": self.server_time_ms(),
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
            ],
            "exchangeFilters": [],
            "symbols": symbols,
        })

    def _symbols_param(self, params: Mapping[str, str]) -> list[str]:
        if "symbol" in params:
            self.market.spec(params["symbol"])
            return [params["symbol"]]
        if "symbols" in params:
            try:
                names = json.loads(params["symbols"])
            except ValueError:
                raise BinanceApiError(400, -1100, "Illegal characters found in parameter 'symbols'.") from None
            for name in names:
                self.market.spec(str(name))
            return [str(n) for n in names]
        return list(self.market.symbols)

    @staticmethod
    def _symbol_info(s: SymbolSpec) -> dict[str, Any]:
        return {
            "symbol": s.symbol,
            "status": s.status,
            "baseAsset": s.base,
            "baseAssetPrecision": 8,
            "quoteAsset": s.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT",
                           "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"],
            "icebergAllowed": True,
            "ocoAllowed": True,
            "otoAllowed": True,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": True,
            "cancelReplaceAllowed": True,
            "amendAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": fmt(s.min_price),
                 "maxPrice": fmt(s.max_price), "tickSize": fmt(s.tick_size)},
                {"filterType": "LOT_SIZE", "minQty": fmt(s.min_qty), "maxQty": fmt(s.max_qty),
                 "stepSize": fmt(s.step_size)},
                {"filterType": "MIN_NOTIONAL", "minNotional": fmt(s.min_notional),
                 "applyToMarket": True, "avgPriceMins": 5},
                {"filterType": "NOTIONAL", "minNotional": fmt(s.min_notional),
                 "applyMinToMarket": True, "maxNotional": "9000000.00000000",
                 "applyMaxToMarket": False, "avgPriceMins": 5},
                {"filterType": "MARKET_LOT_SIZE", "minQty": fmt(ZERO), "maxQty": fmt(s.max_qty),
                 "stepSize": fmt(ZERO)},
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
        }

    async def _h_depth(self, request: web.Request) -> web.StreamResponse:
        params = await self._params(request)
        symbol = required(params, "symbol")
        limit = int(params.get("limit", "100") or "100")
        with self._lock:
            self.market.spec(symbol)
            b = self.market.books[symbol]
            return _json_response({
                "lastUpdateId": self.market.update_id,
                "bids": [[fmt(p), fmt(q)] for p, q in b.bids[:limit]],
                "asks": [[fmt(p), fmt(q)] for p, q in b.asks[:limit]],
            })

    def _top(self, symbol: str) -> dict[str, str]:
        b = self.market.books[symbol]
        bid = b.bids[0] if b.bids else [ZERO, ZERO]
        ask = b.asks[0] if b.asks else [ZERO, ZERO]
        return {"bidPrice": fmt(bid[0]), "bidQty": fmt(bid[1]),
                "askPrice": fmt(ask[0]), "askQty": fmt(ask[1])}

    async def _h_book_ticker(self, request: web.Request) -> web.StreamResponse:
        params = await self._params(request)
        with self._lock:
            names = self._symbols_param(params)
            rows = [{"symbol": s} | self._top(s) for s in names]
        return _json_response(rows[0] if "symbol" in params else rows)

    async def _h_ticker_24hr(self, request: web.Request) -> web.StreamResponse:
        params = await self._params(request)
        now = self.server_time_ms()
        with self._lock:
            names = self._symbols_param(params)
            rows = []
            for s in names:
                top = self._top(s)
                trades = [t for t in self.market.trades if t.symbol == s]
                last = trades[-1].price if trades else (
                    (Decimal(top["bidPrice"]) + Decimal(top["askPrice"])) / 2)
                volume = sum((t.qty for t in trades), ZERO)
                quote_volume = sum((t.quote_qty for t in trades), ZERO)
                rows.append({
                    "symbol": s, "priceChange": fmt(ZERO), "priceChangePercent": "0.000",
                    "weightedAvgPrice": fmt(last), "prevClosePrice": fmt(last),
                    "lastPrice": fmt(last), "lastQty": fmt(trades[-1].qty if trades else ZERO),
                    **top,
                    "openPrice": fmt(last), "highPrice": fmt(last), "lowPrice": fmt(last),
                    "volume": fmt(volume), "quoteVolume": fmt(quote_volume),
                    "openTime": now - 86_400_000, "closeTime": now,
                    "firstId": trades[0].trade_id if trades else -1,
                    "lastId": trades[-1].trade_id if trades else -1, "count": len(trades),
                })
        return _json_response(rows[0] if "symbol" in params else rows)

    # ------------------------------------------------------------ private endpoints

    async def _h_account(self, request: web.Request) -> web.StreamResponse:
        await self._signed(request)
        with self.acting(request) as market:
            balances = [{"asset": a, "free": fmt(f), "locked": fmt(lk)}
                        for a, (f, lk) in market.balances().items()]
        return _json_response({
            "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {"maker": "0.00100000", "taker": "0.00100000",
                                "buyer": "0.00000000", "seller": "0.00000000"},
            "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
            "requireSelfTradePrevention": False, "preventSor": False,
            "updateTime": self.server_time_ms(), "accountType": "SPOT", "balances": balances,
            "permissions": ["SPOT"], "uid": 354937868,
        })

    async def _h_new_order(self, request: web.Request) -> web.StreamResponse:
        params = await self._signed(request)
        with self.acting(request):
            order, fills = self.market.new_order(params)
            self._persist()
            return _json_response(self.new_order_body(order, fills, params))

    def new_order_body(self, order: EmulatedOrder, fills: Sequence[EmulatedTrade],
                       params: Mapping[str, str]) -> dict[str, Any]:
        """A new order's answer, in the `newOrderRespType` asked for (`cancelReplace`'s
        `newOrderResponse` too)."""
        resp_type = params.get("newOrderRespType", "FULL" if order.type in ("MARKET", "LIMIT") else "ACK")
        body: dict[str, Any] = {
            "symbol": order.symbol, "orderId": order.order_id, "orderListId": -1,
            "clientOrderId": order.client_order_id, "transactTime": order.time_ms,
        }
        if resp_type in ("RESULT", "FULL"):
            full = order.to_json()
            for key in ("time", "updateTime", "isWorking", "stopPrice", "icebergQty",
                        "origQuoteOrderQty"):
                if not (key == "stopPrice" and order.stop_price):  # a stop shows its own
                    full.pop(key, None)
            body |= full
        if resp_type == "FULL":
            body["fills"] = [{"price": fmt(t.price), "qty": fmt(t.qty),
                              "commission": fmt(t.commission),
                              "commissionAsset": t.commission_asset,
                              "tradeId": t.trade_id} for t in fills]
        return body

    async def _h_query_order(self, request: web.Request) -> web.StreamResponse:
        params = await self._signed(request)
        with self.acting(request):
            order = self.market.find_order(params)
            if order is None:
                raise BinanceApiError(400, -2013, "Order does not exist.")
            return _json_response(order.to_json())

    async def _h_cancel_order(self, request: web.Request) -> web.StreamResponse:
        params = await self._signed(request)
        with self.acting(request):
            order = self.market.find_order(params)
            if order is None or not order.is_open:
                raise BinanceApiError(400, -2011, "Unknown order sent.")
            self.market.cancel(order)
            self._persist()
            return _json_response(self.cancel_body(order, params.get("newClientOrderId")))

    def cancel_body(self, order: EmulatedOrder, cancel_client_id: str | None) -> dict[str, Any]:
        """A cancelled order's answer (`cancelReplace`'s `cancelResponse` too)."""
        body = order.to_json()
        for key in ("time", "updateTime", "isWorking", "workingTime", "stopPrice",
                    "icebergQty", "origQuoteOrderQty"):
            body.pop(key, None)
        body["origClientOrderId"] = order.client_order_id
        body["clientOrderId"] = cancel_client_id or f"cancel{order.order_id}"
        body["transactTime"] = self.server_time_ms()
        return body

    async def _h_open_orders(self, request: web.Request) -> web.StreamResponse:
        params = await self._signed(request)
        with self.acting(request):
            symbol = params.get("symbol")
            if symbol is not None:
                self.market.spec(symbol)
            rows = [o.to_json() for o in self.market.own_orders()
                    if o.is_open and (symbol is None or o.symbol == symbol)]
        return _json_response(rows)

    async def _h_my_trades(self, request: web.Request) -> web.StreamResponse:
        """GET /api/v3/myTrades as Binance documents it: `limit` 500 by default, at most
        1000 (more is served as 1000); with `fromId`, the trades with ID >= fromId, oldest
        first; with `startTime`, the first ones from then on; otherwise the *most recent*
        `limit` trades (oldest first within the page). Only Binance's combinations of the
        optional parameters are accepted (-1128 otherwise), startTime..endTime at most
        24 hours (-1127)."""
        params = await self._signed(request)
        symbol = required(params, "symbol")
        given = frozenset(k for k in ("orderId", "startTime", "endTime", "fromId")
                          if params.get(k, "") != "")
        if given not in _MY_TRADES_COMBINATIONS:
            raise BinanceApiError(400, -1128, "Combination of optional parameters invalid.")
        numbers = {k: _long_param(params, k) for k in (*given, "limit") if params.get(k, "") != ""}
        if "startTime" in numbers and "endTime" in numbers and (
                numbers["endTime"] - numbers["startTime"] > _DAY_MS):
            raise BinanceApiError(400, -1127, "More than 24 hours between startTime and endTime.")
        limit = numbers.get("limit", 500)
        if limit < 1:
            raise BinanceApiError(400, -1130, "Data sent for parameter 'limit' is not valid.")
        limit = min(limit, 1000)
        with self.acting(request):
            self.market.spec(symbol)
            rows = [t for t in self.market.own_trades() if t.symbol == symbol
                    and ("orderId" not in numbers or t.order_id == numbers["orderId"])
                    and ("fromId" not in numbers or t.trade_id >= numbers["fromId"])
                    and ("startTime" not in numbers or t.time_ms >= numbers["startTime"])
                    and ("endTime" not in numbers or t.time_ms <= numbers["endTime"])]
            rows.sort(key=lambda t: t.trade_id)
            oldest_first = "fromId" in numbers or "startTime" in numbers
            rows = rows[:limit] if oldest_first else rows[-limit:]
            return _json_response([t.to_json() for t in rows])

    # ------------------------------------------------------------ admin endpoints

    async def _h_admin_state(self, request: web.Request) -> web.StreamResponse:
        return _json_response(self.state())

    async def _h_admin_add_fault(self, request: web.Request) -> web.StreamResponse:
        try:
            fault = Fault.from_json(await request.json())
        except ValueError as err:
            return _json_response({"error": str(err)}, status=400)
        self.inject_fault(fault)
        return _json_response(fault.to_json())

    async def _h_admin_clear_faults(self, request: web.Request) -> web.StreamResponse:
        self.clear_faults()
        return _json_response({})

    async def _h_admin_book(self, request: web.Request) -> web.StreamResponse:
        data = await request.json()
        try:
            trades = self.set_book(
                str(data["symbol"]),
                [(Decimal(str(p)), Decimal(str(q))) for p, q in data.get("bids", [])],
                [(Decimal(str(p)), Decimal(str(q))) for p, q in data.get("asks", [])],
            )
        except BinanceApiError as err:
            return _json_response({"code": err.code, "msg": err.msg}, status=err.http_status)
        return _json_response({"trades": [t.to_json() for t in trades]})

    async def _h_admin_trade(self, request: web.Request) -> web.StreamResponse:
        data = await request.json()
        try:
            trades = self.trade_against_resting(str(data["symbol"]), str(data["price"]), str(data["qty"]))
        except BinanceApiError as err:
            return _json_response({"code": err.code, "msg": err.msg}, status=err.http_status)
        return _json_response({"trades": [t.to_json() for t in trades]})

    async def _h_admin_balance(self, request: web.Request) -> web.StreamResponse:
        """{"asset", "free", "locked"?, "api_key"?}: see `set_balance`."""
        data = await request.json()
        try:
            self.set_balance(str(data["asset"]), str(data["free"]), str(data.get("locked", "0")),
                             api_key=data.get("api_key"))
        except KeyError as err:
            return _json_response({"error": str(err)}, status=400)
        return _json_response({})

    async def _h_admin_add_account(self, request: web.Request) -> web.StreamResponse:
        """{"api_key", "api_secret", "balances"?: {"USDT": "100"}}: see `add_account`."""
        data = await request.json()
        try:
            balances = {str(a): Decimal(str(v)) for a, v in (data.get("balances") or {}).items()}
            self.add_account(str(data["api_key"]), str(data["api_secret"]),
                             dict(DEFAULT_BALANCES) | balances)
        except (KeyError, ValueError, InvalidOperation) as err:
            return _json_response({"error": str(err)}, status=400)
        return _json_response({"api_keys": self.api_keys})

    async def _h_admin_clock(self, request: web.Request) -> web.StreamResponse:
        """{"offset_ms": N}: the venue's clock N ms ahead of ours (negative: behind)."""
        data = await request.json()
        self.set_clock_offset(int(data["offset_ms"]))
        return _json_response({"offset_ms": self.clock_offset_ms,
                               "serverTime": self.server_time_ms()})

    async def _h_admin_account(self, request: web.Request) -> web.StreamResponse:
        """{"pay_fees_in_bnb": true, "api_key"?: KEY}: see `pay_fees_in_bnb`."""
        data = await request.json()
        key = data.get("api_key")
        try:
            if "pay_fees_in_bnb" in data:
                self.pay_fees_in_bnb(bool(data["pay_fees_in_bnb"]), api_key=key)
            with self._lock:
                enabled = self.market.wallet(self._account(key)).pay_fees_in_bnb
        except KeyError as err:
            return _json_response({"error": str(err)}, status=400)
        return _json_response({"pay_fees_in_bnb": enabled})

    async def _h_admin_filters(self, request: web.Request) -> web.StreamResponse:
        """{"symbol": "BTCUSDT", "tick_size": "0.1", ...}: see `set_filters`."""
        data = dict(await request.json())
        symbol = str(data.pop("symbol"))
        try:
            spec = self.set_filters(symbol, **{k: str(v) for k, v in data.items()})
        except BinanceApiError as err:
            return _json_response({"code": err.code, "msg": err.msg}, status=err.http_status)
        except ValueError as err:
            return _json_response({"error": str(err)}, status=400)
        return _json_response(self._symbol_info(spec))

    # ------------------------------------------------------------ persistence

    def _persist(self) -> None:
        """Write the whole state atomically to the state file, if there is one."""
        if self.state_file is None:
            return
        data = json.dumps(self.state(), indent=1, sort_keys=True)
        directory = self.state_file.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".emu-state-")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(data)
            os.replace(tmp, self.state_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


_ACCOUNT = web.RequestKey("ordergate.binance_emulator.account", str)
"""Where `_signed` leaves the signing key on the request (aiohttp's request mapping)."""

_FILTER_FIELDS = frozenset({"tick_size", "step_size", "min_qty", "max_qty", "min_notional",
                            "min_price", "max_price"})

# GET /api/v3/myTrades: the optional parameters Binance accepts together (besides symbol).
_MY_TRADES_COMBINATIONS = frozenset(frozenset(c) for c in (
    (), ("orderId",), ("startTime",), ("endTime",), ("fromId",), ("startTime", "endTime"),
    ("orderId", "fromId")))
_DAY_MS = 24 * 3600 * 1000


def _long_param(params: Mapping[str, str], name: str) -> int:
    text = params[name]
    if not text.lstrip("-").isdigit():
        raise BinanceApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.")
    return int(text)


def _json_response(data: Any, status: int = 200) -> web.Response:
    """JSON the way Binance writes it: compact, no spaces."""
    return web.json_response(data, status=status, dumps=_compact_dumps)


def _compact_dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


# ---------------------------------------------------------------- running it in a thread


class BinanceEmulatorThread:
    """Runs a `BinanceEmulator` on its own event loop in a daemon thread, for sync tests.

        with BinanceEmulatorThread() as emu:   # emu is the BinanceEmulator
            ... emu.base_url ...
    """

    def __init__(self, emulator: BinanceEmulator | None = None, **kwargs: Any) -> None:
        self.emulator = emulator if emulator is not None else BinanceEmulator(**kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> BinanceEmulator:
        self._thread = threading.Thread(target=self._run, name="binance-emulator", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout=10):
            raise RuntimeError("binance emulator did not start in 10 s")
        if self._error is not None:
            raise RuntimeError("binance emulator failed to start") from self._error
        return self.emulator

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.emulator.start())
        except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
            self._error = exc
            self._started.set()
            loop.close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self.emulator.stop())
            loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop = None
            self._thread = None

    @property
    def base_url(self) -> str:
        return self.emulator.base_url

    def __enter__(self) -> BinanceEmulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


# ---------------------------------------------------------------- as its own process


async def _serve(port: int, state_file: str | None, api_key: str, api_secret: str,
                 balances: Mapping[str, Decimal] | None = None, stop_on_eof: bool = False,
                 accounts: Sequence[tuple[str, str, Mapping[str, Decimal]]] = ()) -> None:
    start = dict(DEFAULT_BALANCES) | dict(balances or {})
    emulator = BinanceEmulator(port=port, state_file=state_file, api_key=api_key,
                               api_secret=api_secret, balances=start)
    for key, secret, own in accounts:
        emulator.add_account(key, secret, dict(DEFAULT_BALANCES) | dict(own))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # pragma: no cover - not on this platform
            pass
    await emulator.start()
    # Handlers first: whoever reads this line may send SIGTERM at once and expect status 0.
    print(f"binance emulator listening on {emulator.base_url}", flush=True)
    if stop_on_eof:  # the parent holds our stdin: when it ends, however it ends, so do we
        threading.Thread(target=_wait_for_eof, args=(loop, stop), name="stdin-eof",
                         daemon=True).start()  # daemon: a SIGTERM need not wait for EOF
    try:
        await stop.wait()
    finally:
        await emulator.stop()


def _wait_for_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    # os.read, not sys.stdin: a daemon thread blocked inside the buffered reader holds its
    # lock, and the interpreter aborts when it finds that lock taken at exit.
    while os.read(sys.stdin.fileno(), 65536):
        pass
    loop.call_soon_threadsafe(stop.set)


def _balance(text: str) -> tuple[str, Decimal]:
    asset, _, amount = text.partition("=")
    try:
        value = Decimal(amount)
    except InvalidOperation:
        value = Decimal("NaN")
    if not asset or not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"expected ASSET=AMOUNT (e.g. BTC=0), got {text!r}")
    return asset.upper(), value


def _account_arg(text: str) -> tuple[str, str, dict[str, Decimal]]:
    """KEY:SECRET or KEY:SECRET:ASSET=AMOUNT,ASSET=AMOUNT."""
    key, _, rest = text.partition(":")
    secret, _, amounts = rest.partition(":")
    if not key or not secret:
        raise argparse.ArgumentTypeError(f"expected KEY:SECRET[:ASSET=AMOUNT,...], got {text!r}")
    return key, secret, dict(_balance(a) for a in amounts.split(",") if a)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local Binance spot REST emulator (127.0.0.1 only).")
    parser.add_argument("--port", type=int, default=0, help="port to bind (0: any free port)")
    parser.add_argument("--state-file", default=None, help="write orders/trades/balances here")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--api-secret", default=DEFAULT_API_SECRET)
    parser.add_argument("--balance", type=_balance, action="append", default=[],
                        metavar="ASSET=AMOUNT",
                        help="starting free balance of an asset (repeatable); the others keep "
                             "their defaults (USDT 1000000, BTC 10, ETH 100)")
    parser.add_argument("--account", type=_account_arg, action="append", default=[],
                        metavar="KEY:SECRET[:ASSET=AMOUNT,...]",
                        help="serve another API key, its own account (repeatable); its "
                             "balances are the defaults but for the amounts given")
    parser.add_argument("--stop-on-eof", action="store_true",
                        help="stop when standard input closes (tie the emulator to its parent)")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.port, args.state_file, args.api_key, args.api_secret,
                       dict(args.balance), args.stop_on_eof, args.account))


if __name__ == "__main__":
    main()
