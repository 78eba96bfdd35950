"""The Binance emulator's request pipeline (`binance_emulator.py`), an aiohttp middleware
every request passes through: the injected fault that matches it (`binance_faults.py`) is
taken and applied, before processing (a status answered, the connection dropped, a delay,
`detached` or not) or after it (a delay, a drop); a `BinanceApiError` an endpoint raises
becomes Binance's error JSON and HTTP status; and the request is logged with the status
answered (`BinanceEmulator.requests`). `/_admin/` requests pass untouched. Apart from the
endpoints so that none of them knows of faults, and from the emulator so that its class
is its state and test-facing API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Middleware

from ordergate.testing.binance_faults import Fault, drop, status_response
from ordergate.testing.binance_market import BinanceApiError

if TYPE_CHECKING:
    from ordergate.testing.binance_emulator import BinanceEmulator

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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

    @web.middleware
    async def apply_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_admin/"):
            return await handler(request)
        fault = take_fault(request.method, request.path, request.headers.get("X-MBX-APIKEY"))
        if fault is not None and fault.kind == "status":
            record(request.method, request.path, fault.status)
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
        record(request.method, request.path, response.status)
        return response

    async def process_late(request: web.Request, handler: Handler,
                           delay_s: float) -> web.StreamResponse:
        await asyncio.sleep(delay_s)
        return await process(request, handler)

    return apply_faults
