"""The Binance emulator's request pipeline (`binance_emulator.py`), an aiohttp middleware
every request passes through: the injected fault that matches it (`binance_faults.py`) is
taken and applied, before processing (a status answered, the connection dropped, a delay,
`detached` or not) or after it (a delay, a drop); a `BinanceApiError` an endpoint raises
becomes Binance's error JSON and HTTP status; and the request is logged with the status
answered (`BinanceEmulator.requests`). Requests that create orders, the venue's outright
refusals of them (a 4xx) and lookups answered -2013 "Order does not exist." are logged by
client order ID too (`BinanceEmulator.sends`, `send_log.py`): an order request arriving
is logged before any fault, since a dropped or delayed request may still have reached the
venue as far as the client knows. `/_admin/` requests pass untouched. Apart from the
endpoints so that none of them knows of faults, and from the emulator so that its class
is its state and test-facing API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Middleware

from ordergate.testing.binance_cancel_replace import PATH as CANCEL_REPLACE_PATH
from ordergate.testing.binance_faults import Fault, drop, status_response
from ordergate.testing.binance_market import BinanceApiError
from ordergate.testing.binance_signing import request_params
from ordergate.testing.send_log import Seen

if TYPE_CHECKING:
    from ordergate.testing.binance_emulator import BinanceEmulator

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ORDER_ID_PARAMS = {
    "/api/v3/order": ("newClientOrderId",),
    CANCEL_REPLACE_PATH: ("newClientOrderId",),
    "/api/v3/orderList/oco": ("aboveClientOrderId", "belowClientOrderId"),
}
"""The requests that create orders (POST), and the parameters naming their client order
IDs. A request without one gets an ID the venue makes up, which nobody can send twice."""


def middleware(emulator: BinanceEmulator) -> Middleware:
    """The middleware for `emulator`'s app: its faults, its request log."""
    from ordergate.testing.binance_emulator import _json_response

    def take_fault(method: str, path: str, api_key: str | None = None) -> Fault | None:
        with emulator._lock:
            for fault in emulator._faults:
                if fault.matches(method, path, api_key):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.count -= 1
                    fault.hits += 1
                    return fault
            return None

    def record(method: str, path: str, status: int) -> None:
        with emulator._lock:
            emulator._requests.append((method, path, status))

    async def order_ids(request: web.Request) -> list[str]:
        names = ORDER_ID_PARAMS.get(request.path) if request.method == "POST" else None
        if names is None:
            return []
        params = await request_params(request)
        return [params[name] for name in names if params.get(name)]

    def note(seen: Seen, client_order_ids: list[str]) -> None:
        with emulator._lock:
            for cid in client_order_ids:
                emulator.sends.record(seen, cid)

    @web.middleware
    async def apply_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_admin/"):
            return await handler(request)
        placing = await order_ids(request)
        note(Seen.SENT, placing)
        fault = take_fault(request.method, request.path, request.headers.get("X-MBX-APIKEY"))
        if fault is not None and fault.kind == "status":
            record(request.method, request.path, fault.status)
            if 400 <= fault.status < 500:  # refused outright: 429, 418, a 4xx error
                note(Seen.REFUSED, placing)
            return status_response(fault)
        if fault is not None and fault.kind == "drop" and not fault.after_processing:
            record(request.method, request.path, 0)
            return drop(request)
        if fault is not None and fault.kind == "delay" and not fault.after_processing:
            if fault.detached:
                await request.read()  # taken in whole: the venue has it, whatever the client does
                # shield: the client hanging up cancels this coroutine, not the processing.
                return await asyncio.shield(process_late(request, handler, fault.delay_s))
            await asyncio.sleep(fault.delay_s)
        response = await process(request, handler)
        if fault is not None and fault.kind == "drop":
            return drop(request)
        if fault is not None and fault.kind == "delay" and fault.after_processing:
            await asyncio.sleep(fault.delay_s)
        return response

    async def process(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except BinanceApiError as err:
            response = _json_response({"code": err.code, "msg": err.msg}, status=err.http_status)
            if err.code == -2013 and request.method == "GET" and request.path == "/api/v3/order":
                cid = (await request_params(request)).get("origClientOrderId")
                note(Seen.ABSENT, [cid] if cid else [])
            elif 400 <= err.http_status < 500:
                note(Seen.REFUSED, await order_ids(request))
        record(request.method, request.path, response.status)
        return response

    async def process_late(request: web.Request, handler: Handler,
                           delay_s: float) -> web.StreamResponse:
        await asyncio.sleep(delay_s)
        return await process(request, handler)

    return apply_faults
