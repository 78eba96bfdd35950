"""`PolymarketEmulator`: the emulated CLOB over HTTP: the exchange (`exchange.py`)
served on an aiohttp app, its fault injection and its lifecycle (the package docstring
says what it does).

Here: the fault levers, the request counts and start/stop. The endpoints are
`public_endpoints.py` (market data) and `private_endpoints.py` (orders, trades,
balances), L2 authentication `l2_auth.py`, faults and error answers on every request
`middleware.py`."""

from __future__ import annotations

from typing import Self

from aiohttp import web

from ordergate.testing.polymarket_emulator.exchange import ClobExchange
from ordergate.testing.polymarket_emulator.middleware import middleware
from ordergate.testing.polymarket_emulator.private_endpoints import (
    add_routes as add_private_routes,
)
from ordergate.testing.polymarket_emulator.public_endpoints import (
    add_routes as add_public_routes,
)
from ordergate.testing.polymarket_emulator.records import Fault, FaultKind

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
        app = web.Application(middlewares=[middleware(self)])
        r = app.router
        add_public_routes(self, r)  # health, time, markets, tick size, books, prices
        add_private_routes(self, r)  # orders, cancels, open orders, trades, balances
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
