"""The emulated CLOB's request pipeline (`emulator.py`), an aiohttp middleware every
request passes through: the request is logged (`requests`, `queries`) and the chain
brought up to now (`settle`); the injected fault that matches it (`Fault`) is taken and
applied, before handling (a status answered, the connection dropped, a delay) or after
it (a drop, a delay); an `_ApiError` an endpoint raises becomes Polymarket's
`{"error": ...}` and its HTTP status, a malformed request a 400. Apart from the
endpoints so that none of them knows of faults, and from the emulator so that its class
is its state and test-facing API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Middleware

from ordergate.testing.polymarket_emulator.records import Fault, _ApiError

if TYPE_CHECKING:
    from ordergate.testing.polymarket_emulator.emulator import PolymarketEmulator


def middleware(emulator: PolymarketEmulator) -> Middleware:
    """The middleware for `emulator`'s app: its request log, its faults."""

    @web.middleware
    async def fault_middleware(
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        with emulator.lock:
            emulator.requests.append((request.method, request.path))
            emulator.queries.append((request.method, request.path, request.query_string))
            emulator.settle()  # the chain has moved on since the last request
        fault = take_fault(emulator, request.method, request.path)
        if fault is not None:
            if fault.kind == "status":
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                body = fault.body or {"error": f"injected {fault.status}"}
                return web.json_response(body, status=fault.status, headers=headers)
            if fault.kind == "drop_before":
                return drop(request)
            if fault.kind == "delay_request":
                await asyncio.sleep(fault.delay_s)
        response = await handle(request, handler)
        if fault is not None:
            if fault.kind == "drop_after":
                return drop(request)
            if fault.kind == "delay_response":
                await asyncio.sleep(fault.delay_s)
        return response

    return fault_middleware


def take_fault(emulator: PolymarketEmulator, method: str, path: str) -> Fault | None:
    with emulator.lock:
        for fault in emulator.faults:
            if fault.matches(method, path):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        emulator.faults.remove(fault)
                return fault
    return None


def drop(request: web.Request) -> web.StreamResponse:
    transport = request.transport
    if transport is not None:
        transport.abort()
    # Nothing reaches the client: the transport is gone.
    raise asyncio.CancelledError()


async def handle(
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
