"""Faults the Binance emulator injects, matched by HTTP method and path: a delayed
answer (after processing, or before it, `detached` or not), a status answered without
processing (Binance's own bodies for 429, 418 and 500), a dropped connection."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

FaultKind = Literal["delay", "status", "drop"]


@dataclass(slots=True)
class Fault:
    """One injected fault, matched by HTTP method and path, for the next `count` requests.

    kind "delay": wait `delay_s` seconds, after processing (default) or before it.
    kind "status": answer `status` without processing (with `Retry-After` if `retry_after`
    is set, and `body` or a default body).
    kind "drop": close the connection without an answer, before processing (default) or
    after it (`after_processing=True`: the order exists but the client never hears).

    `detached` (for a delay before processing): the request, once received, is processed
    when the delay is over even if the client has hung up meanwhile, as a real venue's
    matching engine executes a request its gateway has already taken in. Without it the
    client hanging up cancels the request (it never reached the venue).

    `skip`: let this many matching requests through untouched first (the second order
    request of a sequence, a bracket's first exit after its entry, is the one held).

    `api_key`: only requests signed with that key (its `X-MBX-APIKEY`): one account's key
    failing while the others' work, as when one sub-account is restricted or its key's
    requests are held up; None: any request."""

    method: str
    path: str
    kind: FaultKind
    count: int = 1
    delay_s: float = 0.0
    status: int = 503
    retry_after: float | None = None
    body: str | None = None
    after_processing: bool = True
    detached: bool = False
    skip: int = 0
    hits: int = 0
    api_key: str | None = None

    def matches(self, method: str, path: str, api_key: str | None = None) -> bool:
        """`method` and `path` match exactly, or are "*" (any); and the key, if the fault
        names one."""
        return (self.count > 0 and self.method.upper() in ("*", method.upper())
                and self.path in ("*", path)
                and (self.api_key is None or self.api_key == api_key))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """A fault as `POST /_admin/faults` takes it; ValueError names what is wrong."""
        kind = data.get("kind")
        if kind not in ("delay", "status", "drop"):
            raise ValueError("kind must be delay, status or drop")
        try:
            return cls(
                method=str(data["method"]).upper(), path=str(data["path"]), kind=kind,
                count=int(data.get("count", 1)), delay_s=float(data.get("delay_s", 0.0)),
                status=int(data.get("status", 503)),
                retry_after=None if data.get("retry_after") is None else float(data["retry_after"]),
                body=data.get("body"),
                after_processing=bool(data.get("after_processing", kind == "delay")),
                detached=bool(data.get("detached", False)),
                skip=int(data.get("skip", 0)),
                api_key=None if data.get("api_key") is None else str(data["api_key"]),
            )
        except KeyError as missing:
            raise ValueError(f"a fault needs {missing.args[0]!r}") from None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "method": self.method, "path": self.path, "kind": self.kind, "count": self.count,
            "delay_s": self.delay_s, "status": self.status, "retry_after": self.retry_after,
            "body": self.body, "after_processing": self.after_processing,
            "detached": self.detached, "skip": self.skip, "hits": self.hits,
        }
        if self.api_key is not None:
            body["api_key"] = self.api_key
        return body


def status_response(fault: Fault) -> web.Response:
    """The answer of a "status" fault: its status, its body (or Binance's for that status)
    and a Retry-After when it has one."""
    headers = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = _retry_after_text(fault.retry_after)
    body = fault.body if fault.body is not None else _default_fault_body(fault.status)
    ctype = "application/json" if body.startswith("{") else "text/html"
    return web.Response(status=fault.status, text=body, headers=headers, content_type=ctype)


def drop(request: web.Request) -> web.StreamResponse:
    """Close the connection without writing an answer."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise asyncio.CancelledError()


def _compact(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def _retry_after_text(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def _default_fault_body(status: int) -> str:
    if status == 429:
        return _compact({"code": -1003, "msg": "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."})
    if status == 418:
        return _compact({"code": -1003, "msg": "Way too much request weight used; IP banned until 1700000000000. Please use WebSocket Streams for live updates to avoid bans."})
    if status == 500:
        return _compact({"code": -1001, "msg": "Internal error; unable to process your request. Please try again."})
    return "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
