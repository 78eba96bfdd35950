"""`PolymarketEmulator`: the emulated CLOB's HTTP endpoints, matching and fault injection
(the package docstring says what it does)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from typing import Self

from aiohttp import web

from ordergate.testing.polymarket_emulator.book import best_bid_ask, book_json, last_trade_price
from ordergate.testing.polymarket_emulator.exchange import ClobExchange
from ordergate.testing.polymarket_emulator.new_order import place_order
from ordergate.testing.polymarket_emulator.records import (
    _EXCHANGES,
    END_CURSOR,
    USDC_UNIT,
    ZERO,
    EmuAccount,
    Fault,
    FaultKind,
    _ApiError,
    _fmt,
)

# ---------------------------------------------------------------- the emulator

class PolymarketEmulator(ClobExchange):
    """The emulated CLOB over HTTP. See the package docstring for what it checks and how
    it matches."""

    def __init__(
        self,
        *,
        chain_id: int = 137,
        host: str = "127.0.0.1",
        port: int = 0,
        gtd_threshold_s: int = 60,
        auth_max_skew_s: int = 300,
        verify_order_signatures: bool = True,
        trade_mine_delay_s: float = 0.0,
        trade_confirm_delay_s: float = 0.0,
    ) -> None:
        super().__init__(chain_id=chain_id, gtd_threshold_s=gtd_threshold_s,
                         verify_order_signatures=verify_order_signatures,
                         trade_mine_delay_s=trade_mine_delay_s,
                         trade_confirm_delay_s=trade_confirm_delay_s)
        self.host = host
        self.port = port
        self.auth_max_skew_s = auth_max_skew_s
        self.base_url = ""
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.queries: list[tuple[str, str, str]] = []  # (method, path, query string)
        self.post_order_attempts = 0
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------ faults

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
            self.queries.append((request.method, request.path, request.query_string))
            self.settle()  # the chain has moved on since the last request
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

    async def _book(self, request: web.Request) -> web.StreamResponse:
        with self.lock:
            return web.json_response(book_json(self, request.query.get("token_id", "")))

    async def _books(self, request: web.Request) -> web.StreamResponse:
        params = json.loads(await request.text() or "[]")
        with self.lock:
            return web.json_response([book_json(self, p["token_id"]) for p in params])

    async def _price(self, request: web.Request) -> web.StreamResponse:
        """side=BUY answers the best bid, side=SELL the best ask."""
        side = request.query.get("side", "").upper()
        if side not in ("BUY", "SELL"):
            raise _ApiError(400, "invalid side")
        with self.lock:
            bid, ask = best_bid_ask(self, request.query.get("token_id", ""))
        price = bid if side == "BUY" else ask
        if price is None:
            raise _ApiError(404, "No orderbook exists for the requested token id")
        return web.json_response({"price": _fmt(price)})

    async def _midpoint(self, request: web.Request) -> web.StreamResponse:
        with self.lock:
            bid, ask = best_bid_ask(self, request.query.get("token_id", ""))
        if bid is None or ask is None:
            raise _ApiError(404, "No orderbook exists for the requested token id")
        return web.json_response({"mid": _fmt((bid + ask) / 2)})

    async def _spread(self, request: web.Request) -> web.StreamResponse:
        with self.lock:
            bid, ask = best_bid_ask(self, request.query.get("token_id", ""))
        if bid is None or ask is None:
            raise _ApiError(404, "No orderbook exists for the requested token id")
        return web.json_response({"spread": _fmt(ask - bid)})

    async def _last_trade_price_endpoint(self, request: web.Request) -> web.StreamResponse:
        with self.lock:
            token_id = request.query.get("token_id", "")
            self._market_of_token(token_id)
            price = last_trade_price(self, token_id)
        return web.json_response({"price": _fmt(price) if price is not None else "0", "side": ""})

    # ------------------------------------------------------------ orders

    async def _post_order(self, request: web.Request) -> web.StreamResponse:
        account, body = await self._authenticate(request)
        payload = json.loads(body)
        with self.lock:
            self.post_order_attempts += 1
            self._expire_orders()
            result = place_order(self, account, payload, request.headers.get("POLY_ADDRESS", ""))
        return web.json_response(result)

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
                now = self.now()
                data.append(t.to_json(account.api_key, self.chain.status(t, now),
                                      self.chain.last_update(t, now)))
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
