"""The Binance emulator's HTTP app (`binance_emulator.py`), built and served: every
request through the middleware (`binance_middleware.py`: faults, error answers, the request
log), then the endpoint modules' routes (`add_routes`: `binance_public`, `binance_private`,
`binance_cancel_replace`, `binance_oco`, `binance_admin`); served on 127.0.0.1 only
(`HOST`) by `start_app` until `stop_app`. Apart from the emulator so that its state and
test-facing API are read apart from how they are served; `BinanceEmulator.start` and
`stop` call these."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ordergate.testing.binance_admin import add_routes as add_admin_routes
from ordergate.testing.binance_cancel_replace import PATH as CANCEL_REPLACE_PATH
from ordergate.testing.binance_middleware import middleware
from ordergate.testing.binance_oco import add_routes as add_oco_routes
from ordergate.testing.binance_private import add_routes as add_private_routes
from ordergate.testing.binance_public import add_routes as add_public_routes

if TYPE_CHECKING:
    from ordergate.testing.binance_emulator import BinanceEmulator

HOST = "127.0.0.1"


async def start_app(emulator: BinanceEmulator) -> None:
    """Serve the emulator's app on 127.0.0.1, at its port (0: a free one, then read back
    into `emulator.port`), and write its state file."""
    app = web.Application(middlewares=[middleware(emulator)])
    add_routes(emulator, app)
    emulator._runner = web.AppRunner(app, access_log=None, handler_cancellation=True,
                                     shutdown_timeout=1.0)
    await emulator._runner.setup()
    emulator._site = web.TCPSite(emulator._runner, HOST, emulator.port)
    await emulator._site.start()
    server = emulator._site._server
    assert server is not None
    sockets = getattr(server, "sockets", None) or []
    emulator.port = int(sockets[0].getsockname()[1])
    emulator._persist()


async def stop_app(emulator: BinanceEmulator) -> None:
    if emulator._runner is not None:
        await emulator._runner.cleanup()
        emulator._runner = None
        emulator._site = None


def add_routes(emulator: BinanceEmulator, app: web.Application) -> None:
    """Every endpoint module's routes, on `emulator`'s app."""
    r = app.router
    add_public_routes(emulator, r)  # ping, time, exchangeInfo, depth, tickers
    add_private_routes(emulator, r)  # account, order (POST/GET/DELETE), openOrders, myTrades
    r.add_post(CANCEL_REPLACE_PATH, emulator.cancel_replace.handle)
    add_oco_routes(emulator, r)  # POST /api/v3/orderList/oco, DELETE and GET /api/v3/orderList
    add_admin_routes(emulator, r)  # /_admin/...: state, faults, books, balances, clock
