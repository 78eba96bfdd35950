"""A local emulator of the Polymarket CLOB REST API, for tests.

It speaks the endpoints, parameters and JSON shapes that `py-clob-client` 0.34.x uses,
so the official client (and `ordergate.venues.polymarket.PolymarketVenue` on top of it)
can be driven against it unchanged: point the client's `host` at `emu.base_url`.

What it does, deterministically:

- markets, tick size, neg-risk, fee rate, order book, price, midpoint, spread, server time;
- L2 authentication checked the way the real server does: the POLY_API_KEY must be
  known, POLY_PASSPHRASE and POLY_ADDRESS must match it, and POLY_SIGNATURE must be the
  HMAC-SHA256 (url-safe base64 secret) of ``timestamp + method + path + body``;
- `POST /order`: the signed order's EIP-712 signature is recovered and must match its
  `signer` and the POLY_ADDRESS; its order ID is the EIP-712 struct hash (as on the real
  venue, so a client can compute it before sending); price must be on the token's tick
  and inside [tick, 1 - tick]; size at least the market's minimum; balance must cover
  it; an order whose hash already exists is refused as a duplicate;
- matching against a book each test sets per outcome token (`set_book`): an order that
  crosses trades level by level at the resting price (one trade per level), partially
  when the book is thin; GTC/GTD remainders rest, FOK is all-or-nothing, FAK fills what
  it can and kills the rest; GTD orders expire ``gtd_threshold_s`` (60 s, as on the
  real venue) before their `expiration`;
- resting orders are filled as makers when a later `set_book` crosses them, or by
  `fill_resting`;
- fault injection per method/path: delay the answer after the request took effect
  (`delay_response`), delay before handling it (`delay_request`), answer with an HTTP
  status (5xx, 429) without handling it, drop the connection before or after handling.

Our own resting orders appear in the book returned by `/book`, but an incoming order
only matches the test's external liquidity, never the same account's resting orders.

Quirk kept from the real venue: `GET /data/order/{id}` answers 200 with `null` for an
order it does not know (the real one does the same for some closed orders).

Run it inside the test's event loop (`await emu.start()` / `await emu.stop()`), or in a
background thread for synchronous callers (`EmulatorThread`). State is guarded by a
lock, so tests may change books or tick sizes from another thread while it runs.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Self

from aiohttp import web
from eth_account import Account
from eth_utils.crypto import keccak
from poly_eip712_structs import make_domain  # type: ignore[import-untyped]
from py_order_utils.model.order import Order as _Eip712Order  # type: ignore[import-untyped]

__all__ = [
    "EmuAccount",
    "EmuMarket",
    "EmuOrder",
    "EmuTrade",
    "EmulatorThread",
    "Fault",
    "PolymarketEmulator",
    "order_struct_hash",
]

END_CURSOR = "LTE="
USDC_UNIT = Decimal(1_000_000)
ZERO = Decimal(0)
ONE = Decimal(1)
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

# Exchange contracts by chain and neg-risk, as in py_clob_client.config.
_EXCHANGES: dict[tuple[int, bool], str] = {
    (137, False): "0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E",
    (137, True): "0xC5d563A36AE78145C45a50134d48A1215220f80a",
    (80002, False): "0xdFE02Eb6733538f8Ea35D585af8DE5958AD99E40",
    (80002, True): "0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296",
}

FaultKind = Literal["delay_response", "delay_request", "status", "drop_before", "drop_after"]


def order_struct_hash(order: dict[str, Any], chain_id: int, neg_risk: bool) -> str:
    """The EIP-712 struct hash of a signed order's JSON (`SignedOrder.dict()`): its order ID."""
    side = order["side"]
    side_int = 0 if side in ("BUY", 0, "0") else 1
    struct = _Eip712Order(
        salt=int(order["salt"]),
        maker=order["maker"],
        signer=order["signer"],
        taker=order.get("taker", ZERO_ADDRESS),
        tokenId=int(order["tokenId"]),
        makerAmount=int(order["makerAmount"]),
        takerAmount=int(order["takerAmount"]),
        expiration=int(order["expiration"]),
        nonce=int(order["nonce"]),
        feeRateBps=int(order["feeRateBps"]),
        side=side_int,
        signatureType=int(order["signatureType"]),
    )
    domain = make_domain(
        name="Polymarket CTF Exchange",
        version="1",
        chainId=str(chain_id),
        verifyingContract=_EXCHANGES[(chain_id, neg_risk)],
    )
    return "0x" + keccak(struct.signable_bytes(domain=domain)).hex()


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def _fmt(value: Decimal) -> str:
    """A Decimal as the venue writes numbers: no exponent, no trailing zeros."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


# ---------------------------------------------------------------- state records


@dataclass
class EmuMarket:
    condition_id: str
    tokens: list[tuple[str, str]]  # (token_id, outcome)
    tick_size: Decimal
    min_order_size: Decimal
    neg_risk: bool = False
    fee_rate_bps: int = 0
    question: str = ""
    active: bool = True
    closed: bool = False
    accepting_orders: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "enable_order_book": True,
            "active": self.active,
            "closed": self.closed,
            "archived": False,
            "accepting_orders": self.accepting_orders,
            "accepting_order_timestamp": None,
            # Polymarket's JSON carries these two as numbers, so the emulator does too
            # (the adapter reads them through str() into Decimal).
            "minimum_order_size": float(self.min_order_size),
            "minimum_tick_size": float(self.tick_size),
            "condition_id": self.condition_id,
            "question_id": "0x" + hashlib.sha256(self.condition_id.encode()).hexdigest(),
            "question": self.question,
            "description": "",
            "market_slug": self.condition_id[:16],
            "end_date_iso": None,
            "game_start_time": None,
            "seconds_delay": 0,
            "fpmm": "",
            "maker_base_fee": self.fee_rate_bps,
            "taker_base_fee": self.fee_rate_bps,
            "notifications_enabled": False,
            "neg_risk": self.neg_risk,
            "neg_risk_market_id": "",
            "neg_risk_request_id": "",
            "icon": "",
            "image": "",
            "rewards": {"rates": None, "min_size": 0, "max_spread": 0},
            "is_50_50_outcome": False,
            "tokens": [
                {"token_id": token_id, "outcome": outcome, "price": 0.5, "winner": False}
                for token_id, outcome in self.tokens
            ],
            "tags": [],
        }


@dataclass
class EmuAccount:
    address: str
    api_key: str
    secret: str
    passphrase: str
    collateral: Decimal = ZERO
    tokens: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class EmuOrder:
    id: str
    owner: str  # api key
    maker_address: str
    market: str
    token_id: str
    outcome: str
    side: str  # "BUY" / "SELL"
    price: Decimal
    original_size: Decimal
    order_type: str
    expiration: int
    created_at: int
    size_matched: Decimal = ZERO
    status: str = "LIVE"  # LIVE, MATCHED, CANCELED
    expired: bool = False
    associate_trades: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        return self.original_size - self.size_matched

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "owner": self.owner,
            "maker_address": self.maker_address,
            "market": self.market,
            "asset_id": self.token_id,
            "side": self.side,
            "original_size": _fmt(self.original_size),
            "size_matched": _fmt(self.size_matched),
            "price": _fmt(self.price),
            "outcome": self.outcome,
            "expiration": str(self.expiration),
            "order_type": self.order_type,
            "associate_trades": list(self.associate_trades),
            "created_at": self.created_at,
        }


@dataclass
class EmuTrade:
    id: str
    taker_order_id: str
    market: str
    token_id: str
    outcome: str
    side: str  # the taker's side
    size: Decimal
    price: Decimal
    fee_rate_bps: int
    match_time: int
    owner: str  # the taker's api key ("" for external)
    maker_address: str  # the taker's address
    maker_orders: list[dict[str, Any]]
    status: str = "CONFIRMED"

    def to_json(self, viewer_api_key: str) -> dict[str, Any]:
        trader_side = "TAKER" if self.owner == viewer_api_key else "MAKER"
        return {
            "id": self.id,
            "taker_order_id": self.taker_order_id,
            "market": self.market,
            "asset_id": self.token_id,
            "side": self.side,
            "size": _fmt(self.size),
            "fee_rate_bps": str(self.fee_rate_bps),
            "price": _fmt(self.price),
            "status": self.status,
            "match_time": str(self.match_time),
            "last_update": str(self.match_time),
            "outcome": self.outcome,
            "bucket_index": 0,
            "owner": self.owner,
            "maker_address": self.maker_address,
            "transaction_hash": "0x" + hashlib.sha256(self.id.encode()).hexdigest(),
            "trader_side": trader_side,
            "maker_orders": [dict(m) for m in self.maker_orders],
        }


@dataclass
class Fault:
    """One injected fault. `method`/`path` of "*" match anything; `path` ending in "*"
    matches by prefix. It fires `times` times (None: until cleared)."""

    kind: FaultKind
    method: str = "*"
    path: str = "*"
    times: int | None = 1
    delay_s: float = 0.0
    status: int = 500
    retry_after: float | None = None
    body: dict[str, Any] | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        if self.path == "*":
            return True
        if self.path.endswith("*"):
            return path.startswith(self.path[:-1])
        return path == self.path


class _ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ---------------------------------------------------------------- the emulator


class PolymarketEmulator:
    """The emulated CLOB. See the module docstring for what it checks and how it matches."""

    def __init__(
        self,
        *,
        chain_id: int = 137,
        host: str = "127.0.0.1",
        port: int = 0,
        gtd_threshold_s: int = 60,
        auth_max_skew_s: int = 300,
        verify_order_signatures: bool = True,
    ) -> None:
        self.chain_id = chain_id
        self.host = host
        self.port = port
        self.gtd_threshold_s = gtd_threshold_s
        self.auth_max_skew_s = auth_max_skew_s
        self.verify_order_signatures = verify_order_signatures
        self.base_url = ""
        self.time_offset_s = 0.0  # moves the venue's clock (expiry) without touching auth
        self.lock = threading.RLock()
        self.markets: dict[str, EmuMarket] = {}
        self.token_market: dict[str, str] = {}
        self.accounts: dict[str, EmuAccount] = {}  # by api key
        self.books: dict[str, dict[str, list[tuple[Decimal, Decimal]]]] = {}
        self.orders: dict[str, EmuOrder] = {}
        self.trades: list[EmuTrade] = []
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.post_order_attempts = 0
        self._seq = 0
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------ test set-up

    def now(self) -> float:
        return time.time() + self.time_offset_s

    def advance(self, seconds: float) -> None:
        """Move the venue's clock forward (GTD expiry); authentication keeps real time."""
        with self.lock:
            self.time_offset_s += seconds

    def add_market(
        self,
        condition_id: str,
        tokens: Sequence[tuple[str, str]],
        *,
        tick_size: Decimal | str = "0.01",
        min_order_size: Decimal | str = "5",
        neg_risk: bool = False,
        fee_rate_bps: int = 0,
        question: str = "",
    ) -> EmuMarket:
        market = EmuMarket(
            condition_id=condition_id,
            tokens=list(tokens),
            tick_size=_dec(tick_size),
            min_order_size=_dec(min_order_size),
            neg_risk=neg_risk,
            fee_rate_bps=fee_rate_bps,
            question=question,
        )
        with self.lock:
            self.markets[condition_id] = market
            for token_id, _ in tokens:
                self.token_market[token_id] = condition_id
                self.books.setdefault(token_id, {"bids": [], "asks": []})
        return market

    def set_tick_size(self, token_or_condition_id: str, tick_size: Decimal | str) -> None:
        """Change a market's tick size while running (both outcome tokens share it)."""
        with self.lock:
            cid = self.token_market.get(token_or_condition_id, token_or_condition_id)
            self.markets[cid].tick_size = _dec(tick_size)

    def add_account(
        self,
        address: str,
        *,
        collateral: Decimal | str = "1000",
        tokens: dict[str, Decimal | str] | None = None,
        api_key: str | None = None,
        secret: str | None = None,
        passphrase: str | None = None,
    ) -> EmuAccount:
        """Register an account and its L2 credentials (generated when not given)."""
        account = EmuAccount(
            address=address,
            api_key=api_key or str(uuid.uuid4()),
            secret=secret or base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            passphrase=passphrase or secrets.token_hex(16),
            collateral=_dec(collateral),
            tokens={k: _dec(v) for k, v in (tokens or {}).items()},
        )
        with self.lock:
            self.accounts[account.api_key] = account
        return account

    def set_book(
        self,
        token_id: str,
        *,
        bids: Iterable[tuple[Decimal | str, Decimal | str]] = (),
        asks: Iterable[tuple[Decimal | str, Decimal | str]] = (),
        match_resting: bool = True,
    ) -> list[EmuTrade]:
        """Replace the external liquidity of one token: (price, size) levels.

        With `match_resting`, resting orders the new book crosses are filled as makers at
        their own price; the trades are returned."""
        with self.lock:
            if token_id not in self.token_market:
                raise KeyError(f"unknown token {token_id}")
            self.books[token_id] = {
                "bids": sorted(((_dec(p), _dec(s)) for p, s in bids), key=lambda l: -l[0]),
                "asks": sorted(((_dec(p), _dec(s)) for p, s in asks), key=lambda l: l[0]),
            }
            if not match_resting:
                return []
            self._expire_orders()
            made: list[EmuTrade] = []
            for order in sorted(self.orders.values(), key=lambda o: o.created_at):
                if order.token_id != token_id or order.status != "LIVE":
                    continue
                opposite = self.books[token_id]["asks" if order.side == "BUY" else "bids"]
                for i, (price, size) in enumerate(opposite):
                    if order.remaining <= 0:
                        break
                    crosses = price <= order.price if order.side == "BUY" else price >= order.price
                    if not crosses or size <= 0:
                        continue
                    qty = min(size, order.remaining)
                    opposite[i] = (price, size - qty)
                    made.append(self._fill_as_maker(order, qty))
                self.books[token_id]["asks" if order.side == "BUY" else "bids"] = [
                    lv for lv in opposite if lv[1] > 0
                ]
            return made

    def fill_resting(self, order_id: str, size: Decimal | str | None = None) -> EmuTrade:
        """An external taker trades `size` (default: all remaining) against a resting order."""
        with self.lock:
            order = self.orders[order_id]
            if order.status != "LIVE":
                raise ValueError(f"order {order_id} is not live ({order.status})")
            qty = order.remaining if size is None else min(_dec(size), order.remaining)
            return self._fill_as_maker(order, qty)

    def inject(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
        return fault

    def inject_fault(
        self,
        kind: FaultKind,
        method: str = "*",
        path: str = "*",
        *,
        times: int | None = 1,
        delay_s: float = 0.0,
        status: int = 500,
        retry_after: float | None = None,
    ) -> Fault:
        return self.inject(
            Fault(kind, method, path, times, delay_s, status, retry_after)
        )

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def orders_of(self, address_or_api_key: str) -> list[EmuOrder]:
        with self.lock:
            return [
                o
                for o in self.orders.values()
                if o.owner == address_or_api_key or o.maker_address == address_or_api_key
            ]

    def count_requests(self, method: str, path: str) -> int:
        with self.lock:
            return sum(1 for m, p in self.requests if m == method and p == path)

    # ------------------------------------------------------------ lifecycle

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._fault_middleware])
        r = app.router
        r.add_get("/", self._ok)
        r.add_get("/time", self._time)
        r.add_get("/markets", self._markets)
        r.add_get("/markets/{condition_id}", self._market)
        r.add_get("/sampling-markets", self._markets)
        r.add_get("/tick-size", self._tick_size)
        r.add_get("/neg-risk", self._neg_risk)
        r.add_get("/fee-rate", self._fee_rate)
        r.add_get("/book", self._book)
        r.add_post("/books", self._books)
        r.add_get("/price", self._price)
        r.add_get("/midpoint", self._midpoint)
        r.add_get("/spread", self._spread)
        r.add_get("/last-trade-price", self._last_trade_price_endpoint)
        r.add_post("/order", self._post_order)
        r.add_delete("/order", self._cancel)
        r.add_delete("/orders", self._cancel_many)
        r.add_delete("/cancel-all", self._cancel_all)
        r.add_get("/data/order/{order_id}", self._get_order)
        r.add_get("/data/orders", self._open_orders)
        r.add_get("/data/trades", self._get_trades)
        r.add_get("/balance-allowance", self._balance_allowance)
        r.add_get("/balance-allowance/update", self._balance_allowance)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.make_app(), access_log=None, handler_cancellation=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        port = sockets[0].getsockname()[1]
        self.port = port
        self.base_url = f"http://{self.host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------ plumbing

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    @web.middleware
    async def _fault_middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        with self.lock:
            self.requests.append((request.method, request.path))
        fault = self._take_fault(request.method, request.path)
        if fault is not None:
            if fault.kind == "status":
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                body = fault.body or {"error": f"injected {fault.status}"}
                return web.json_response(body, status=fault.status, headers=headers)
            if fault.kind == "drop_before":
                return self._drop(request)
            if fault.kind == "delay_request":
                await asyncio.sleep(fault.delay_s)
        response = await self._handle(request, handler)
        if fault is not None:
            if fault.kind == "drop_after":
                return self._drop(request)
            if fault.kind == "delay_response":
                await asyncio.sleep(fault.delay_s)
        return response

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        transport = request.transport
        if transport is not None:
            transport.abort()
        # Nothing reaches the client: the transport is gone.
        raise asyncio.CancelledError()

    async def _handle(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except _ApiError as exc:
            return web.json_response({"error": exc.message}, status=exc.status)
        except web.HTTPException:
            raise
        except (KeyError, ValueError, TypeError, json.JSONDecodeError) as exc:
            return web.json_response({"error": f"bad request: {exc}"}, status=400)

    async def _authenticate(self, request: web.Request) -> tuple[EmuAccount, str]:
        """Check the L2 headers; returns the account and the raw body text."""
        body = await request.text()
        h = request.headers
        api_key = h.get("POLY_API_KEY", "")
        with self.lock:
            account = self.accounts.get(api_key)
        if account is None:
            raise _ApiError(401, "Unauthorized/Invalid api key")
        if not hmac.compare_digest(h.get("POLY_PASSPHRASE", ""), account.passphrase):
            raise _ApiError(401, "Unauthorized/Invalid api key")
        if h.get("POLY_ADDRESS", "").lower() != account.address.lower():
            raise _ApiError(401, "Unauthorized/Invalid api key")
        ts = h.get("POLY_TIMESTAMP", "")
        if not ts.isdigit() or abs(int(ts) - time.time()) > self.auth_max_skew_s:
            raise _ApiError(401, "Unauthorized/Invalid api key")
        message = ts + request.method + request.path
        if body:
            message += body.replace("'", '"')
        try:
            key = base64.urlsafe_b64decode(account.secret)
        except (ValueError, TypeError):  # pragma: no cover - secrets are generated valid
            raise _ApiError(401, "Unauthorized/Invalid api key") from None
        expected = base64.urlsafe_b64encode(
            hmac.new(key, message.encode(), hashlib.sha256).digest()
        ).decode()
        if not hmac.compare_digest(expected, h.get("POLY_SIGNATURE", "")):
            raise _ApiError(401, "Unauthorized/Invalid api key")
        return account, body

    def _market_of_token(self, token_id: str | None, status: int = 404) -> EmuMarket:
        cid = self.token_market.get(token_id or "")
        if cid is None:
            raise _ApiError(status, "market not found" if status == 404 else "invalid token id")
        return self.markets[cid]

    def _next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:08d}-{uuid.uuid4().hex[:12]}"

    def _expire_orders(self) -> None:
        now = self.now()
        for order in self.orders.values():
            if (
                order.status == "LIVE"
                and order.expiration > 0
                and now >= order.expiration - self.gtd_threshold_s
            ):
                order.status = "CANCELED"
                order.expired = True

    # ------------------------------------------------------------ public endpoints

    async def _ok(self, request: web.Request) -> web.StreamResponse:
        return web.json_response("OK")

    async def _time(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(int(self.now()))

    async def _markets(self, request: web.Request) -> web.StreamResponse:
        with self.lock:
            data = [m.to_json() for m in self.markets.values()]
        return web.json_response(
            {"limit": 1000, "count": len(data), "next_cursor": END_CURSOR, "data": data}
        )

    async def _market(self, request: web.Request) -> web.StreamResponse:
        with self.lock:
            market = self.markets.get(request.match_info["condition_id"])
            if market is None:
                raise _ApiError(404, "market not found")
            return web.json_response(market.to_json())

    async def _tick_size(self, request: web.Request) -> web.StreamResponse:
        with self.lock:
            market = self._market_of_token(request.query.get("token_id"))
            # A number on the wire, as Polymarket sends it.
            return web.json_response({"minimum_tick_size": float(market.tick_size)})

    async def _neg_risk(self, request: web.Request) -> web.StreamResponse:
        with self.lock:
            market = self._market_of_token(request.query.get("token_id"))
            return web.json_response({"neg_risk": market.neg_risk})

    async def _fee_rate(self, request: web.Request) -> web.StreamResponse:
        with self.lock:
            market = self._market_of_token(request.query.get("token_id"))
            return web.json_response({"base_fee": market.fee_rate_bps})

    def _book_json(self, token_id: str) -> dict[str, Any]:
        market = self._market_of_token(token_id)
        self._expire_orders()
        book = self.books[token_id]
        bids: dict[Decimal, Decimal] = {}
        asks: dict[Decimal, Decimal] = {}
        for price, size in book["bids"]:
            bids[price] = bids.get(price, ZERO) + size
        for price, size in book["asks"]:
            asks[price] = asks.get(price, ZERO) + size
        for order in self.orders.values():
            if order.token_id == token_id and order.status == "LIVE":
                levels = bids if order.side == "BUY" else asks
                levels[order.price] = levels.get(order.price, ZERO) + order.remaining
        last = self._last_trade_price(token_id)
        payload: dict[str, Any] = {
            "market": market.condition_id,
            "asset_id": token_id,
            "timestamp": str(int(self.now() * 1000)),
            "hash": "",
            # As on the real venue: best bid and best ask come last.
            "bids": [{"price": _fmt(p), "size": _fmt(s)} for p, s in sorted(bids.items())],
            "asks": [
                {"price": _fmt(p), "size": _fmt(s)}
                for p, s in sorted(asks.items(), reverse=True)
            ],
            "min_order_size": _fmt(market.min_order_size),
            "tick_size": _fmt(market.tick_size),
            "neg_risk": market.neg_risk,
            "last_trade_price": _fmt(last) if last is not None else "",
        }
        serialized = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        payload["hash"] = hashlib.sha1(serialized.encode()).hexdigest()
        return payload

    def _last_trade_price(self, token_id: str) -> Decimal | None:
        for trade in reversed(self.trades):
            if trade.token_id == token_id:
                return trade.price
        return None

    def _best(self, token_id: str) -> tuple[Decimal | None, Decimal | None]:
        book = self._book_json(token_id)
        bid = _dec(book["bids"][-1]["price"]) if book["bids"] else None
        ask = _dec(book["asks"][-1]["price"]) if book["asks"] else None
        return bid, ask

    async def _book(self, request: web.Request) -> web.StreamResponse:
        with self.lock:
            return web.json_response(self._book_json(request.query.get("token_id", "")))

    async def _books(self, request: web.Request) -> web.StreamResponse:
        params = json.loads(await request.text() or "[]")
        with self.lock:
            return web.json_response([self._book_json(p["token_id"]) for p in params])

    async def _price(self, request: web.Request) -> web.StreamResponse:
        """side=BUY answers the best bid, side=SELL the best ask."""
        side = request.query.get("side", "").upper()
        if side not in ("BUY", "SELL"):
            raise _ApiError(400, "invalid side")
        with self.lock:
            bid, ask = self._best(request.query.get("token_id", ""))
        price = bid if side == "BUY" else ask
        if price is None:
            raise _ApiError(404, "No orderbook exists for the requested token id")
        return web.json_response({"price": _fmt(price)})

    async def _midpoint(self, request: web.Request) -> web.StreamResponse:
        with self.lock:
            bid, ask = self._best(request.query.get("token_id", ""))
        if bid is None or ask is None:
            raise _ApiError(404, "No orderbook exists for the requested token id")
        return web.json_response({"mid": _fmt((bid + ask) / 2)})

    async def _spread(self, request: web.Request) -> web.StreamResponse:
        with self.lock:
            bid, ask = self._best(request.query.get("token_id", ""))
        if bid is None or ask is None:
            raise _ApiError(404, "No orderbook exists for the requested token id")
        return web.json_response({"spread": _fmt(ask - bid)})

    async def _last_trade_price_endpoint(self, request: web.Request) -> web.StreamResponse:
        with self.lock:
            token_id = request.query.get("token_id", "")
            self._market_of_token(token_id)
            price = self._last_trade_price(token_id)
        return web.json_response({"price": _fmt(price) if price is not None else "0", "side": ""})

    # ------------------------------------------------------------ orders

    async def _post_order(self, request: web.Request) -> web.StreamResponse:
        account, body = await self._authenticate(request)
        payload = json.loads(body)
        with self.lock:
            self.post_order_attempts += 1
            self._expire_orders()
            result = self._place(account, payload, request.headers.get("POLY_ADDRESS", ""))
        return web.json_response(result)

    def _place(self, account: EmuAccount, payload: dict[str, Any], header_address: str) -> dict[str, Any]:
        order = payload["order"]
        order_type = str(payload.get("orderType", "GTC")).upper()
        post_only = bool(payload.get("postOnly", False))
        if payload.get("owner") != account.api_key:
            raise _ApiError(400, "the order owner has to be the owner of the API KEY")
        if order_type not in ("GTC", "GTD", "FOK", "FAK"):
            raise _ApiError(400, f"invalid order type {order_type}")
        token_id = str(order["tokenId"])
        market = self._market_of_token(token_id, status=400)
        if not market.accepting_orders or market.closed:
            raise _ApiError(400, "the market is not yet ready to process new orders")
        order_id = order_struct_hash(order, self.chain_id, market.neg_risk)
        if self.verify_order_signatures:
            if str(order["signer"]).lower() != header_address.lower():
                raise _ApiError(400, "the order signer address has to be the address of the API KEY")
            try:
                recovered = Account._recover_hash(
                    bytes.fromhex(order_id[2:]), signature=bytes.fromhex(order["signature"][2:])
                )
            except Exception:
                raise _ApiError(400, "invalid signature") from None
            if str(recovered).lower() != str(order["signer"]).lower():
                raise _ApiError(400, "invalid signature")
        if order_id in self.orders:
            raise _ApiError(400, f"order {order_id} already exists (duplicated)")

        side = "BUY" if order["side"] in ("BUY", 0, "0") else "SELL"
        maker_amount = _dec(order["makerAmount"]) / USDC_UNIT
        taker_amount = _dec(order["takerAmount"]) / USDC_UNIT
        if maker_amount <= 0 or taker_amount <= 0:
            raise _ApiError(400, f"order {order_id} is invalid. amounts must be positive")
        if side == "BUY":
            size, price = taker_amount, maker_amount / taker_amount
        else:
            size, price = maker_amount, taker_amount / maker_amount
        tick = market.tick_size
        if price < tick or price > ONE - tick:
            raise _ApiError(
                400, f"invalid price ({_fmt(price)}), min: {_fmt(tick)} - max: {_fmt(ONE - tick)}"
            )
        if price % tick != 0:
            raise _ApiError(
                400,
                f"order {order_id} is invalid. Price ({_fmt(price)}) breaks minimum tick size "
                f"rule: {_fmt(tick)}",
            )
        if size < market.min_order_size:
            raise _ApiError(
                400,
                f"order {order_id} is invalid. Size ({_fmt(size)}) lower than the minimum: "
                f"{_fmt(market.min_order_size)}",
            )
        expiration = int(order.get("expiration", 0) or 0)
        if order_type == "GTD":
            if expiration <= int(self.now()) + self.gtd_threshold_s:
                raise _ApiError(
                    400, f"invalid expiration value ({expiration}): must be at least "
                    f"{self.gtd_threshold_s}s in the future"
                )
        else:
            expiration = 0
        fee_bps = int(order.get("feeRateBps", 0) or 0)
        if market.fee_rate_bps and fee_bps != market.fee_rate_bps:
            raise _ApiError(400, f"invalid fee rate ({fee_bps}), current market's fee rate: {market.fee_rate_bps}")

        # balance: what is free after every other live order of the account
        if side == "BUY":
            reserved = sum(
                (o.remaining * o.price for o in self.orders.values()
                 if o.owner == account.api_key and o.status == "LIVE" and o.side == "BUY"),
                ZERO,
            )
            if account.collateral - reserved < size * price:
                raise _ApiError(400, "not enough balance / allowance")
        else:
            reserved = sum(
                (o.remaining for o in self.orders.values()
                 if o.owner == account.api_key and o.status == "LIVE" and o.side == "SELL"
                 and o.token_id == token_id),
                ZERO,
            )
            if account.tokens.get(token_id, ZERO) - reserved < size:
                raise _ApiError(400, "not enough balance / allowance")

        # what the external book offers at this price or better
        levels = self.books[token_id]["asks" if side == "BUY" else "bids"]
        crossing = [
            (i, p, s) for i, (p, s) in enumerate(levels)
            if s > 0 and (p <= price if side == "BUY" else p >= price)
        ]
        available = sum((s for _, _, s in crossing), ZERO)
        if post_only and crossing:
            raise _ApiError(400, "invalid post-only order: order crosses book")
        if order_type == "FOK" and available < size:
            raise _ApiError(
                400,
                "order couldn't be fully filled. FOK orders are fully filled or killed.",
            )
        if order_type == "FAK" and available <= 0:
            raise _ApiError(
                400,
                "no orders found to match with FAK order. FAK orders are partially filled "
                "or killed if no match is found.",
            )
        outcome = dict(market.tokens).get(token_id, "")
        emu_order = EmuOrder(
            id=order_id,
            owner=account.api_key,
            maker_address=str(order["maker"]),
            market=market.condition_id,
            token_id=token_id,
            outcome=outcome,
            side=side,
            price=price,
            original_size=size,
            order_type=order_type,
            expiration=expiration,
            created_at=int(self.now()),
        )
        self.orders[order_id] = emu_order
        making = ZERO
        taking = ZERO
        for i, level_price, level_size in crossing:
            if emu_order.remaining <= 0:
                break
            qty = min(level_size, emu_order.remaining)
            levels[i] = (level_price, level_size - qty)
            trade = self._fill_as_taker(account, emu_order, level_price, qty, market)
            if side == "BUY":
                making += trade.size * trade.price
                taking += trade.size
            else:
                making += trade.size
                taking += trade.size * trade.price
        self.books[token_id]["asks" if side == "BUY" else "bids"] = [
            lv for lv in levels if lv[1] > 0
        ]
        if emu_order.remaining <= 0:
            emu_order.status = "MATCHED"
            status = "matched"
        elif order_type in ("FAK", "FOK"):
            emu_order.status = "CANCELED"
            status = "matched"
        else:
            status = "matched" if emu_order.size_matched > 0 else "live"
        return {
            "success": True,
            "errorMsg": "",
            "orderID": order_id,
            "transactionsHashes": [
                "0x" + hashlib.sha256(t.encode()).hexdigest() for t in emu_order.associate_trades
            ],
            "status": status,
            "takingAmount": _fmt(taking) if taking else "",
            "makingAmount": _fmt(making) if making else "",
        }

    def _fee(self, bps: int, price: Decimal, size: Decimal) -> Decimal:
        return (Decimal(bps) / Decimal(10_000)) * min(price, ONE - price) * size

    def _settle(self, account: EmuAccount | None, side: str, token_id: str,
                price: Decimal, size: Decimal, fee: Decimal) -> None:
        if account is None:
            return
        if side == "BUY":
            account.collateral -= price * size + fee
            account.tokens[token_id] = account.tokens.get(token_id, ZERO) + size
        else:
            account.collateral += price * size - fee
            account.tokens[token_id] = account.tokens.get(token_id, ZERO) - size

    def _fill_as_taker(self, account: EmuAccount, order: EmuOrder, price: Decimal,
                       qty: Decimal, market: EmuMarket) -> EmuTrade:
        trade_id = str(uuid.UUID(int=int(hashlib.sha256(
            f"{order.id}:{len(self.trades)}".encode()).hexdigest()[:32], 16)))
        maker_side = "SELL" if order.side == "BUY" else "BUY"
        trade = EmuTrade(
            id=trade_id,
            taker_order_id=order.id,
            market=order.market,
            token_id=order.token_id,
            outcome=order.outcome,
            side=order.side,
            size=qty,
            price=price,
            fee_rate_bps=market.fee_rate_bps,
            match_time=int(self.now()),
            owner=account.api_key,
            maker_address=order.maker_address,
            maker_orders=[{
                "order_id": self._next_id("ext-"),
                "owner": "",
                "maker_address": ZERO_ADDRESS,
                "matched_amount": _fmt(qty),
                "price": _fmt(price),
                "fee_rate_bps": "0",
                "asset_id": order.token_id,
                "outcome": order.outcome,
                "side": maker_side,
            }],
        )
        order.size_matched += qty
        order.associate_trades.append(trade_id)
        self.trades.append(trade)
        self._settle(account, order.side, order.token_id, price, qty,
                     self._fee(market.fee_rate_bps, price, qty))
        return trade

    def _fill_as_maker(self, order: EmuOrder, qty: Decimal) -> EmuTrade:
        market = self.markets[order.market]
        trade_id = str(uuid.UUID(int=int(hashlib.sha256(
            f"{order.id}:{len(self.trades)}".encode()).hexdigest()[:32], 16)))
        taker_side = "SELL" if order.side == "BUY" else "BUY"
        trade = EmuTrade(
            id=trade_id,
            taker_order_id=self._next_id("ext-"),
            market=order.market,
            token_id=order.token_id,
            outcome=order.outcome,
            side=taker_side,
            size=qty,
            price=order.price,
            fee_rate_bps=market.fee_rate_bps,
            match_time=int(self.now()),
            owner="",
            maker_address=ZERO_ADDRESS,
            maker_orders=[{
                "order_id": order.id,
                "owner": order.owner,
                "maker_address": order.maker_address,
                "matched_amount": _fmt(qty),
                "price": _fmt(order.price),
                "fee_rate_bps": "0",
                "asset_id": order.token_id,
                "outcome": order.outcome,
                "side": order.side,
            }],
        )
        order.size_matched += qty
        order.associate_trades.append(trade_id)
        if order.remaining <= 0:
            order.status = "MATCHED"
        self.trades.append(trade)
        self._settle(self.accounts.get(order.owner), order.side, order.token_id,
                     order.price, qty, ZERO)
        return trade

    def _cancel_ids(self, account: EmuAccount, ids: Iterable[str]) -> dict[str, Any]:
        self._expire_orders()
        canceled: list[str] = []
        not_canceled: dict[str, str] = {}
        for oid in ids:
            order = self.orders.get(oid)
            if order is None or order.owner != account.api_key:
                not_canceled[oid] = "order not found"
            elif order.status != "LIVE":
                not_canceled[oid] = "order can't be found - already canceled or matched"
            else:
                order.status = "CANCELED"
                canceled.append(oid)
        return {"canceled": canceled, "not_canceled": not_canceled}

    async def _cancel(self, request: web.Request) -> web.StreamResponse:
        account, body = await self._authenticate(request)
        oid = str(json.loads(body or "{}").get("orderID", ""))
        with self.lock:
            return web.json_response(self._cancel_ids(account, [oid]))

    async def _cancel_many(self, request: web.Request) -> web.StreamResponse:
        account, body = await self._authenticate(request)
        ids = [str(i) for i in json.loads(body or "[]")]
        with self.lock:
            return web.json_response(self._cancel_ids(account, ids))

    async def _cancel_all(self, request: web.Request) -> web.StreamResponse:
        account, _ = await self._authenticate(request)
        with self.lock:
            ids = [o.id for o in self.orders.values()
                   if o.owner == account.api_key and o.status == "LIVE"]
            return web.json_response(self._cancel_ids(account, ids))

    async def _get_order(self, request: web.Request) -> web.StreamResponse:
        account, _ = await self._authenticate(request)
        with self.lock:
            self._expire_orders()
            order = self.orders.get(request.match_info["order_id"])
            if order is None or order.owner != account.api_key:
                return web.json_response(None)
            return web.json_response(order.to_json())

    async def _open_orders(self, request: web.Request) -> web.StreamResponse:
        account, _ = await self._authenticate(request)
        q = request.query
        with self.lock:
            self._expire_orders()
            data = [
                o.to_json()
                for o in self.orders.values()
                if o.owner == account.api_key
                and o.status == "LIVE"
                and (not q.get("id") or o.id == q["id"])
                and (not q.get("market") or o.market == q["market"])
                and (not q.get("asset_id") or o.token_id == q["asset_id"])
            ]
        return web.json_response(
            {"data": data, "next_cursor": END_CURSOR, "limit": 500, "count": len(data)}
        )

    async def _get_trades(self, request: web.Request) -> web.StreamResponse:
        account, _ = await self._authenticate(request)
        q = request.query
        with self.lock:
            data = []
            for t in self.trades:
                mine = t.owner == account.api_key or any(
                    m.get("owner") == account.api_key for m in t.maker_orders
                )
                if not mine:
                    continue
                if q.get("id") and t.id != q["id"]:
                    continue
                if q.get("market") and t.market != q["market"]:
                    continue
                if q.get("asset_id") and t.token_id != q["asset_id"]:
                    continue
                if q.get("after") and t.match_time < int(q["after"]):
                    continue
                if q.get("before") and t.match_time > int(q["before"]):
                    continue
                data.append(t.to_json(account.api_key))
        return web.json_response(
            {"data": data, "next_cursor": END_CURSOR, "limit": 500, "count": len(data)}
        )

    async def _balance_allowance(self, request: web.Request) -> web.StreamResponse:
        account, _ = await self._authenticate(request)
        asset_type = request.query.get("asset_type", "COLLATERAL").upper()
        with self.lock:
            if asset_type == "COLLATERAL":
                balance = account.collateral
            elif asset_type == "CONDITIONAL":
                token_id = request.query.get("token_id", "")
                self._market_of_token(token_id, status=400)
                balance = account.tokens.get(token_id, ZERO)
            else:
                raise _ApiError(400, f"invalid asset type {asset_type}")
        micro = int((balance * USDC_UNIT).to_integral_value())
        unlimited = str(2**256 - 1)
        return web.json_response({
            "balance": str(micro),
            "allowances": {exchange: unlimited for exchange in _EXCHANGES.values()},
        })


# ---------------------------------------------------------------- a thread runner


class EmulatorThread:
    """Run an emulator on its own event loop in a daemon thread, for synchronous code.

    >>> runner = EmulatorThread(PolymarketEmulator()); emu = runner.start(); ...; runner.stop()
    """

    def __init__(self, emulator: PolymarketEmulator | None = None) -> None:
        self.emulator = emulator or PolymarketEmulator()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout_s: float = 5.0) -> PolymarketEmulator:
        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.emulator.start())
            except BaseException as exc:  # pragma: no cover - surfaced to the caller
                self._error = exc
                self._ready.set()
                return
            self._ready.set()
            loop.run_forever()
            loop.run_until_complete(self.emulator.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="polymarket-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise RuntimeError("the emulator did not start in time")
        if self._error is not None:
            raise RuntimeError("the emulator failed to start") from self._error
        return self.emulator

    def stop(self, timeout_s: float = 5.0) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout_s)
            self._thread = None
            self._loop = None

    def __enter__(self) -> PolymarketEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
