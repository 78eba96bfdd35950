"""The HTTP API's routes (FastAPI), over one running engine.

Every decision (a signal, a direct order, a cancel, a kill-switch move) is taken under
the engine's one-decision lock, the same `turn` the ticker and the signal-file reader
take (`live.py`), so two decisions never interleave. Reads (an order, the positions,
health, metrics) take no lock: they run between the engine's awaits on the same loop and
see a state some decision has left, and health must answer while a decision is stuck.

Scopes: `read` for orders, positions (and metrics unless `server.metrics_scope` is
`open`); `trade` for signals, orders and cancels; `admin` for the kill switch. Health
needs no token. Every error is problem+json (`problems.py`); an unexpected exception is
a 500 problem, and is reported to the engine's supervisor (`system_error` audit line,
`ordergate_system_errors_total{source="server ..."}`, and by `[supervision] on_error`
the kill switch), never swallowed and never shown to the client.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordergate.config import ServerSettings
from ordergate.domain.order import OrderStatus
from ordergate.domain.signal import (
    SignalParseError, decode_json_object, is_identifier, parse_signal_mapping,
)
from ordergate.domain.values import TradingState
from ordergate.engine import Engine
from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.server import views
from ordergate.server.auth import Authenticator, Principal
from ordergate.server.direct_order import order_signal
from ordergate.server.event_hub import EventHub
from ordergate.server.event_stream import event_routes
from ordergate.server.health import health_view
from ordergate.server.idempotency import (
    Answer, Idempotency, fingerprint, fingerprint_bytes, parse_key,
)
from ordergate.server.limits import BodyLimit
from ordergate.server.problems import (
    DEFAULT_SLUG, PROBLEM_JSON, Problem, encode, problem_body, problem_response,
)

MAX_REASON = 500


@dataclass(slots=True)
class ServerState:
    engine: Engine
    turn: asyncio.Lock
    auth: Authenticator
    idempotency: Idempotency
    settings: ServerSettings
    ticker: asyncio.Task[None] | None = field(default=None)
    events: EventHub | None = field(default=None)


def build_app(state: ServerState) -> FastAPI:
    engine, turn, auth = state.engine, state.turn, state.auth
    app = FastAPI(title="ordergate", version="1", docs_url=None, redoc_url=None)

    def principal(request: Request, scope: str) -> Principal:
        return auth.authenticate(request.headers.get("authorization"), scope)

    async def decide_signal(request: Request, owner: str, key: str, print_: str,
                            decide: Callable[[], Awaitable[Answer]], scope: str,
                            reused: tuple[str, str]) -> Response:
        answer, replayed = await state.idempotency.once(scope, owner, key, print_, decide,
                                                        reused)
        return _answer(answer, replayed)

    async def invalid(error: SignalParseError) -> Problem:
        engine.reject_invalid(error)  # audited and counted as a bad signal line is
        return _invalid(error)

    @app.post("/v1/signals", status_code=201)
    async def post_signal(request: Request) -> Response:
        """A signal (the JSON of a signal line) through the chain; its intent key is its
        client order ID, so posting it again replays the first answer."""
        principal(request, "trade")
        raw = await _body(request)
        try:
            signal = parse_signal_mapping(decode_json_object(raw))
        except SignalParseError as error:
            async with turn:
                raise await invalid(error) from None
        key = client_order_id_for(signal.strategy_id, signal.account_id, signal.signal_id)

        async def decide() -> Answer:
            return views.verdict_answer(engine, signal, await engine.submit(signal))

        return await decide_signal(
            request, "", key, fingerprint(signal.model_dump(mode="json")), decide, "signal",
            ("signal-id-reused", f"signal {signal.signal_id!r} was already received with "
             "different contents; a new signal needs a new signal_id"))

    @app.post("/v1/orders", status_code=201)
    async def post_order(request: Request) -> Response:
        """A direct order with an Idempotency-Key (required)."""
        who = principal(request, "trade")
        key = parse_key(request.headers.get("idempotency-key"))
        raw = await _body(request)
        parsed: dict[str, Any] | SignalParseError
        try:
            parsed = decode_json_object(raw)
            print_ = fingerprint(parsed)
        except SignalParseError as error:
            parsed, print_ = error, fingerprint_bytes(raw)

        async def decide() -> Answer:
            if isinstance(parsed, SignalParseError):
                raise await invalid(parsed)
            try:
                signal = order_signal(parsed, who.name, key, engine.clock.now())
            except SignalParseError as error:
                raise await invalid(error) from None
            return views.verdict_answer(engine, signal, await engine.submit(signal))

        return await decide_signal(
            request, who.name, key, print_, decide, "order",
            ("idempotency-key-reused", "this Idempotency-Key was used for a different "
             "request; use a new key for a new order"))

    @app.get("/v1/orders")
    async def list_orders(request: Request, state_: str | None = Query(None, alias="state"),
                          symbol: str | None = None, account: str | None = None,
                          limit: int = Query(100, ge=1, le=1000),
                          cursor: str | None = None) -> Response:
        """Newest first; `next_cursor` asks for the page after this one."""
        principal(request, "read")
        open_only, status = False, None
        if state_ is not None and state_.lower() != "all":
            if state_.lower() == "open":
                open_only = True
            elif state_.upper() in OrderStatus.__members__:
                status = state_.upper()
            else:
                raise Problem(422, "invalid", "state must be open, all or an order state "
                              f"({', '.join(OrderStatus.__members__)})", field="state")
        rows = engine.journal.list_orders(open_only=open_only, status=status, symbol=symbol,
                                          account_id=account, before=_cursor(cursor),
                                          limit=limit)
        next_cursor = _make_cursor(rows[-1]["rowid"]) if len(rows) == limit else None
        return _json(200, {"orders": [views.order_summary(r) for r in rows],
                           "next_cursor": next_cursor})

    def find(order_id: str) -> str:
        if engine.journal.order(order_id) is not None:
            return order_id
        found = engine.journal.client_order_id_for_venue_id(order_id)
        if found is None:
            raise Problem(404, "not-found", "no order has this client or venue order ID")
        return found

    @app.get("/v1/orders/{order_id}")
    async def get_order(request: Request, order_id: str) -> Response:
        """By client order ID or venue order ID."""
        principal(request, "read")
        return _json(200, views.order_view(engine.journal, find(order_id)))

    @app.delete("/v1/orders/{order_id}")
    async def cancel_order(request: Request, order_id: str) -> Response:
        """Cancel; idempotent. 200 once cancelled (again: the same 200), 202 while the
        venue has not confirmed, 409 for an order that filled or ended otherwise."""
        who = principal(request, "trade")
        client_order_id = find(order_id)
        async with turn:
            view = views.order_view(engine.journal, client_order_id)
            assert view is not None
            if not view["finished"]:
                await engine.cancel(client_order_id, f"cancel requested over HTTP by {who.name}")
                view = views.order_view(engine.journal, client_order_id)
                assert view is not None
        return _cancel_answer(view)

    @app.get("/v1/positions")
    async def positions(request: Request) -> Response:
        principal(request, "read")
        return _json(200, {"positions": views.positions_view(engine)})

    @app.post("/v1/trading-state")
    async def trading_state(request: Request) -> Response:
        """The kill switch; audited with the token's name and the reason given."""
        who = principal(request, "admin")
        try:
            body = decode_json_object(await _body(request))
        except SignalParseError as error:
            raise _invalid(error) from None
        target, reason = body.get("state"), body.get("reason")
        if not isinstance(target, str):
            raise Problem(422, "invalid", "state is required: ACTIVE, REDUCING or HALTED",
                          field="state")
        try:
            wanted = TradingState.parse(target)
        except ValueError as exc:
            raise Problem(422, "invalid", str(exc), field="state") from None
        if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON \
                or not reason.isprintable():
            raise Problem(422, "invalid", f"reason is required: printable text, 1 to "
                          f"{MAX_REASON} characters, for the audit log", field="reason")
        if extra := sorted(set(body) - {"state", "reason"}):
            raise Problem(422, "invalid", "Extra inputs are not permitted",
                          field=extra[0] if is_identifier(extra[0]) else "body")
        async with turn:
            previous = engine.risk.trading_state
            engine.set_trading_state(wanted, reason.strip(), by=who.name)
            await engine.settle()
        return _json(200, {"state": engine.risk.trading_state.value,
                           "previous": previous.value, "changed": previous is not wanted,
                           "by": who.name})

    @app.get("/v1/health")
    async def health() -> Response:
        """No token needed: for load balancers and supervisors. 503 when the control loop
        is not running or the journal cannot be written."""
        body = health_view(engine, state.ticker)
        return _json(503 if body["status"] == "failing" else 200, body)

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        if state.settings.metrics_scope != "open":
            principal(request, "read")
        return Response(engine.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(event_routes(state))
    _install_error_handlers(app)

    async def crashed(where: str, exc: Exception) -> None:
        engine.supervisor.crashed(f"server {where}", exc)
        async with turn:
            await engine.settle()

    app.add_middleware(CrashGuard, on_crash=crashed)
    app.add_middleware(BodyLimit, max_bytes=state.settings.max_body_bytes)
    return app


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(encode(body), status_code=status, headers=headers,
                    media_type=PROBLEM_JSON if status >= 400 else "application/json")


def _answer(answer: Answer, replayed: bool) -> Response:
    status, body = answer
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    order_id = body.get("client_order_id")
    if status == 201 and isinstance(order_id, str):
        headers["Location"] = f"/v1/orders/{order_id}"
    return _json(status, body, headers)


def _cancel_answer(view: dict[str, Any]) -> Response:
    state = view["state"]
    if state == "CANCELLED":
        return _json(200, view)
    if state == "CANCEL_PENDING":
        return _json(202, view)
    if state == "FILLED":
        return problem_response(409, problem_body(
            409, "order-filled", f"order {view['client_order_id']} is filled: there is "
            "nothing left to cancel", state=state, order=view))
    if view["finished"]:
        return problem_response(409, problem_body(
            409, "order-finished", f"order {view['client_order_id']} is {state}: it is not "
            "working and cannot be cancelled", state=state, order=view))
    return problem_response(409, problem_body(
        409, "not-cancellable", f"order {view['client_order_id']} is {state}; its cancel "
        "could not be sent now (see the audit log); try again", state=state, order=view))


def _invalid(error: SignalParseError) -> Problem:
    return Problem(422, "invalid", f"{error.field}: {error.reason}", field=error.field)


async def _body(request: Request) -> bytes:
    """The request body (already bounded by `BodyLimit`), which must be JSON."""
    content_type = request.headers.get("content-type", "application/json")
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise Problem(415, "unsupported-media-type",
                      f"send Content-Type: application/json, not {media[:64]!r}")
    return await request.body()


def _make_cursor(rowid: int) -> str:
    return base64.urlsafe_b64encode(f"r{rowid}".encode()).decode().rstrip("=")


def _cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text[:1] == "r" and text[1:].isdigit():
            return int(text[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise Problem(422, "invalid", "cursor is not one this server gave out", field="cursor")


def _install_error_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return exc.response()

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        slug = DEFAULT_SLUG.get(exc.status_code, "bad-request")
        detail = exc.detail if isinstance(exc.detail, str) else slug.replace("-", " ")
        return problem_response(exc.status_code, problem_body(exc.status_code, slug, detail),
                                dict(exc.headers or {}))

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(part) for part in first.get("loc", ()) if part not in ("query", "path")]
        name = ".".join(loc) or "request"
        return problem_response(422, problem_body(
            422, "invalid", f"{name}: {first.get('msg', 'invalid')}", field=name))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)


class CrashGuard:
    """Outermost but for the body limit: an exception no handler answered becomes a 500
    problem (if nothing was sent yet) and goes to the supervisor. Starlette's own
    fallback would answer too, but re-raise into uvicorn, which logs a traceback with
    whatever the exception carries; here the client gets no detail and the audit log the
    type, message and place (`supervision.where_raised`)."""

    def __init__(self, app: ASGIApp, on_crash: Callable[[str, Exception], Awaitable[None]]) -> None:
        self.app = app
        self.on_crash = on_crash

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:  # noqa: BLE001 - supervised: audited, counted, by policy halts
            route = scope.get("route")
            where = f"{scope.get('method', '')} {getattr(route, 'path', scope.get('path', ''))}"
            await self.on_crash(where, exc)
            if not started:
                body = encode(problem_body(500, "internal-error", "an unexpected error "
                                           "occurred; it was audited (system_error)"))
                await send({"type": "http.response.start", "status": 500,
                            "headers": [(b"content-type", PROBLEM_JSON.encode()),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
