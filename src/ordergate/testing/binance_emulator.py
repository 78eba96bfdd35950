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
sync tests (`BinanceEmulatorThread`), or as its own process
(`python -m ordergate.testing.binance_emulator --port 0`: `binance_emulator_cli.py`).

Here: the emulator's state and test-facing API, its signing and fault plumbing, and the
private (signed) endpoints. The public market-data endpoints are `binance_public.py`,
the `/_admin/` ones `binance_admin.py`, order lists `binance_oco.py`, cancel-replace
`binance_cancel_replace.py`, the market and its matching `binance_market.py`.

Everything binds 127.0.0.1 only. Money is `Decimal` throughout.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
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

from ordergate.testing.binance_admin import add_routes as add_admin_routes
from ordergate.testing.binance_cancel_replace import PATH as CANCEL_REPLACE_PATH
from ordergate.testing.binance_cancel_replace import CancelReplace
from ordergate.testing.binance_faults import Fault, FaultKind, drop, status_response
from ordergate.testing.binance_oco import OrderLists
from ordergate.testing.binance_oco import add_routes as add_oco_routes
from ordergate.testing.binance_public import add_routes as add_public_routes
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
    fmt,
    now_ms,
    required,
)

__all__ = [
    "DEFAULT_API_KEY", "DEFAULT_API_SECRET", "DEFAULT_BALANCES", "DEFAULT_BOOKS",
    "DEFAULT_SYMBOLS", "HOST", "BinanceApiError", "BinanceEmulator", "BinanceEmulatorThread",
    "EmulatedOrder", "EmulatedTrade", "Fault", "FaultKind", "Level", "SymbolSpec",
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
        add_public_routes(self, r)  # ping, time, exchangeInfo, depth, tickers
        r.add_get("/api/v3/account", self._h_account)
        r.add_post("/api/v3/order", self._h_new_order)
        r.add_get("/api/v3/order", self._h_query_order)
        r.add_delete("/api/v3/order", self._h_cancel_order)
        r.add_post(CANCEL_REPLACE_PATH, self.cancel_replace.handle)
        r.add_get("/api/v3/openOrders", self._h_open_orders)
        r.add_get("/api/v3/myTrades", self._h_my_trades)
        add_oco_routes(self, r)  # POST /api/v3/orderList/oco, DELETE and GET /api/v3/orderList
        add_admin_routes(self, r)  # /_admin/...: state, faults, books, balances, clock

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


if __name__ == "__main__":  # python -m ordergate.testing.binance_emulator: its own process
    from ordergate.testing.binance_emulator_cli import main

    main()
