"""`GET /v1/events`: the engine's audit lines, live, as Server-Sent Events.

Why SSE and not a WebSocket: the stream goes one way (the engine talks, the client
listens; orders go in through `POST`), it is plain HTTP (the same bearer token, proxies
and `curl -N` work unchanged), and resuming is built into the protocol: every event has an
`id:`, and a client that reconnects sends the last one back as `Last-Event-ID`, which
browsers' `EventSource` does by itself.

Each audit line is one unnamed event (`message`, what `EventSource.onmessage` gets):
`id:` its sequence number, `data:` the line exactly as the audit file has it
(`event_hub.py`). The stream's own notices are named events whose `id:` is the position a
reconnect should resume from, and whose data is JSON saying what happened:
- `gap`: the `Last-Event-ID` given is not followed by a retained line (too old, or of
  another run): the lines that follow are the oldest kept, `missed` says how many were
  lost (null when unknown). Chosen over a 4xx because an `EventSource` gives up on one
  and shows no body; a notice in the stream says exactly what was lost and goes on.
- `overflow`: the client fell more than `server.events.client_buffer` lines behind; the
  stream ends. Reconnecting with the notice's ID resumes where it stopped (if retained).
- `shutdown`: the server is stopping; the stream ends after the lines it had.
Between lines, `: keepalive` comments every `heartbeat_s`.

Filters: `account`, `symbol`, `event` (an audit line's `event`), each repeatable or
comma-separated: a line is sent when it matches one value of every filter given.
Scope `read`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
from fastapi import APIRouter, Request
from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from ordergate.server.event_hub import EventHub, Filter, Gap, Subscription
from ordergate.server.openapi import answers, secured
from ordergate.server.problems import Problem, encode
from ordergate.subscribers.audit_log import EVENT_NAMES

if TYPE_CHECKING:
    from ordergate.server.app import ServerState

MEDIA_TYPE = "text/event-stream"
FILTERS = ("account", "symbol", "event")
MAX_VALUE = 128
_KEEPALIVE = b": keepalive\n\n"
_STREAM_DOC: dict[int | str, dict[str, Any]] = {200: {
    "description": "Server-Sent Events: each audit line as `id:` and `data:`; named events "
                   "`gap`, `overflow`, `shutdown`.",
    "content": {MEDIA_TYPE: {}}}, **answers({}, 401, 403, 422, 429, 500)}


def event_routes(state: ServerState) -> APIRouter:
    router = APIRouter()

    @router.get("/v1/events", status_code=200, response_class=EventStream,
                responses=_STREAM_DOC, openapi_extra=secured("read"))
    async def events(request: Request) -> Response:
        """The audit log's lines as they are written, as Server-Sent Events; reconnect
        with `Last-Event-ID` to resume. Filters: account, symbol, event."""
        state.auth.authenticate(request.headers.get("authorization"), "read")
        filter_ = parse_filter(request.query_params)
        after = parse_last_event_id(request.headers.get("last-event-id"))
        hub = state.events
        if hub is None or hub.closed:
            raise _stopping()
        return EventStream(hub, filter_, hub.position if after is None else after)

    return router


def parse_filter(params: QueryParams) -> Filter:
    """`?account=a&account=b`, `?symbol=BTC/USDT,ETH/USDT`, `?event=fill`; an unknown
    parameter or event name is a 422 naming it, not a filter that quietly matches nothing."""
    for name in params:
        if name not in FILTERS:
            raise Problem(422, "invalid", f"{name[:64]!r} is not a filter of the event "
                          f"stream: use {', '.join(FILTERS)}", field=_field(name))
    values: dict[str, frozenset[str]] = {}
    for name in FILTERS:
        given = params.getlist(name)
        parts = {part.strip() for value in given for part in value.split(",")} - {""}
        if given and not parts:
            raise Problem(422, "invalid", f"{name}: give at least one value", field=name)
        for part in parts:
            if len(part) > MAX_VALUE or not part.isprintable():
                raise Problem(422, "invalid", f"{name}: values are printable text of at most "
                              f"{MAX_VALUE} characters", field=name)
        values[name] = frozenset(parts)
    if unknown := sorted(values["event"] - EVENT_NAMES):
        raise Problem(422, "invalid", f"event: {unknown[0][:64]!r} is not an audit event; "
                      f"one of {', '.join(sorted(EVENT_NAMES))}", field="event")
    return Filter(values["event"], values["account"], values["symbol"])


def parse_last_event_id(header: str | None) -> int | None:
    """An ID this server gave out: a decimal integer (an empty header, as `EventSource`
    may send before it has seen an ID, means none)."""
    if header is None or not header.strip():
        return None
    text = header.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 19):
        raise Problem(422, "invalid", "Last-Event-ID must be the id: of an event this "
                      "stream sent (a decimal integer)", field="Last-Event-ID")
    return int(text)


class EventStream(Response):
    """The streaming response, as its own ASGI callable rather than Starlette's
    `StreamingResponse`, so the subscription is opened when the response starts and left
    whichever way it ends (notice sent, client gone, task cancelled): the hub's client
    count and its set of subscriptions never keep a stream that is gone."""

    media_type = MEDIA_TYPE

    def __init__(self, hub: EventHub, filter_: Filter, after: int) -> None:
        self.status_code, self.background = 200, None  # no body: no Content-Length
        self.init_headers({"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        self.hub, self.filter, self.after = hub, filter_, after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hub = self.hub
        if hub.closed:  # stopped between the route and here
            await _stopping().response()(scope, receive, send)
            return
        sub, gap = hub.open(self.filter, self.after)
        try:
            await send({"type": "http.response.start", "status": 200,
                        "headers": self.raw_headers})
            async with anyio.create_task_group() as group:
                async def watch() -> None:
                    message: Message = {}
                    while message.get("type") != "http.disconnect":
                        message = await receive()
                    group.cancel_scope.cancel()

                group.start_soon(watch)
                await self._pump(sub, gap, send)
                group.cancel_scope.cancel()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            hub.leave(sub)

    async def _pump(self, sub: Subscription, gap: Gap | None, send: Send) -> None:
        hub, heartbeat = self.hub, self.hub.settings.heartbeat_s

        async def body(chunk: bytes) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        if gap is not None:
            await body(notice("gap", gap.resumes_at - 1, {
                "last_event_id": gap.after, "next_id": gap.resumes_at, "missed": gap.missed,
                "reason": "the lines after last_event_id are no longer retained "
                          f"(server.events.retention = {hub.settings.retention}) or are of "
                          "another run of the server; the stream goes on from next_id"}))
        while True:
            entries = hub.take(sub)
            if entries:
                await body("".join(f"id: {e.id}\ndata: {e.line}\n\n"
                                   for e in entries).encode("ascii"))
                continue
            if sub.ended == "overflow":
                await body(notice("overflow", sub.position, {
                    "last_event_id": sub.position, "reason": "this client fell more than "
                    f"{hub.settings.client_buffer} lines behind (server.events.client_buffer)"
                    "; reconnect with Last-Event-ID to resume"}))
                return
            if sub.ended == "shutdown":
                await body(notice("shutdown", sub.position, {
                    "last_event_id": sub.position, "reason": "the server is stopping"}))
                return
            with anyio.move_on_after(heartbeat) as waited:
                await sub.wake.wait()
            if waited.cancelled_caught:
                await body(_KEEPALIVE)


def notice(name: str, position: int, data: dict[str, Any]) -> bytes:
    """A named event of the stream itself; its `id:` is where a reconnect resumes."""
    return (f"event: {name}\nid: {position}\ndata: ".encode()
            + encode({"event": name, **data}) + b"\n\n")


def _stopping() -> Problem:
    return Problem(503, "unavailable", "the server is stopping: reconnect in a moment, "
                   "with Last-Event-ID", headers={"Retry-After": "1"})


def _field(name: str) -> str:
    return name if name.isidentifier() and len(name) <= 64 else "query"
