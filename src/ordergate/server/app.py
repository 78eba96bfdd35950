"""The HTTP API's application (FastAPI), over one running engine: the routes of the
engine's state (positions, accounts, kill switch, health, metrics) here, order entry and
order reads in `routes_orders.py`, the OpenAPI document's declarations in `openapi.py`.

Every decision (a signal, a direct order, a cancel, a kill-switch move) is taken under
the engine's one-decision lock, the same `turn` the ticker and the signal-file reader
take (`live.py`), so two decisions never interleave. Reads (an order, the positions,
health, metrics) take no lock: they run between the engine's awaits on the same loop and
see a state some decision has left, and health must answer while a decision is stuck.

Scopes: `read` for orders, positions, accounts (and metrics unless `server.metrics_scope` is
`open`); `trade` for signals, orders and cancels; `admin` for the kill switch and for
pausing accounts (`routes_accounts.py`). Health
needs no token. Every error is problem+json (`problems.py`); an unexpected exception is
a 500 problem, and is reported to the engine's supervisor (`system_error` audit line,
`ordergate_system_errors_total{source="server ..."}`, and by `[supervision] on_error`
the kill switch), never swallowed and never shown to the client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordergate.config import ServerSettings
from ordergate.domain.signal import SignalParseError, decode_json_object, is_identifier
from ordergate.domain.values import TradingState
from ordergate.engine import Engine
from ordergate.server import (
    accounts, openapi, routes_accounts, routes_amend, routes_orders, views,
)
from ordergate.server.auth import Authenticator, Principal
from ordergate.server.direct_routes import DirectRoutes
from ordergate.server.event_hub import EventHub
from ordergate.server.event_stream import event_routes
from ordergate.server.health import health_view
from ordergate.server.idempotency import Idempotency
from ordergate.server.limits import BodyLimit
from ordergate.server.openapi import answers, body, secured
from ordergate.server.problems import (
    DEFAULT_SLUG, PROBLEM_JSON, Problem, encode, problem_body, problem_response,
)
from ordergate.server.schema import (
    Health, Positions, TradingStateAnswer, TradingStateRequest,
)
from ordergate.server.schema_accounts import Account
from ordergate.server.wire import invalid, json_response, read_body
from ordergate.views.dashboard.routes import dashboard_routes

MAX_REASON = 500
_READ_PROBLEMS = (401, 403, 429, 500)


@dataclass(slots=True)
class ServerState:
    engine: Engine
    turn: asyncio.Lock
    auth: Authenticator
    idempotency: Idempotency
    settings: ServerSettings
    ticker: asyncio.Task[None] | None = field(default=None)
    events: EventHub | None = field(default=None)


ORDER_ENTRY = (("POST", "/v1/signals"), ("POST", "/v1/orders"))


def build_app(state: ServerState) -> ASGIApp:
    """The application uvicorn serves: the order-entry routes dispatched before FastAPI
    (`direct_routes.py`), everything else FastAPI's; each inside the body limit and the
    crash guard."""
    engine, turn, auth = state.engine, state.turn, state.auth
    app = FastAPI(title="ordergate", version="1", docs_url=None, redoc_url=None,
                  description="An order execution engine's HTTP API. Money is a decimal "
                  "string; every error is application/problem+json (RFC 9457).")

    def principal(request: Request, scope: str) -> Principal:
        return auth.authenticate(request.headers.get("authorization"), scope)

    routes_orders.install(app, state)
    routes_amend.install(app, state)
    routes_accounts.install(app, state)

    @app.get("/v1/positions", response_model=None,
             responses=answers({200: (Positions, "Every position, by account, venue, "
                                      "symbol")}, *_READ_PROBLEMS),
             openapi_extra=secured("read"))
    async def positions(request: Request) -> Response:
        principal(request, "read")
        return json_response(200, {"positions": views.positions_view(engine)})

    @app.get("/v1/accounts/{account_id}", response_model=None,
             responses=answers({200: (Account, "Balances as each venue reports them, and "
                                      "exposure from working orders, per venue; for an "
                                      "account of [accounts], its allocation standing")},
                               401, 403, 404, 422, 429, 500),
             openapi_extra=secured("read"))
    async def account(request: Request, account_id: str) -> Response:
        """An account known from config or from its positions and working orders; the
        venues are asked for its balances (`accounts.py`)."""
        principal(request, "read")
        if not accounts.known_account(engine, account_id):
            raise Problem(404, "not-found", "no such account: not in reconciliation.accounts "
                          "nor [accounts], and no position or working order")
        return json_response(200, await accounts.account_view(engine, account_id))

    @app.post("/v1/trading-state", response_model=None,
              responses=answers({200: (TradingStateAnswer, "The kill switch, moved")},
                                400, 401, 403, 413, 415, 422, 429, 500),
              openapi_extra=secured("admin", body(TradingStateRequest)))
    async def trading_state(request: Request) -> Response:
        """The kill switch; audited with the token's name and the reason given."""
        who = principal(request, "admin")
        try:
            body = decode_json_object(await read_body(request))
        except SignalParseError as error:
            raise invalid(error) from None
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
        return json_response(200, {"state": engine.risk.trading_state.value,
                                   "previous": previous.value,
                                   "changed": previous is not wanted, "by": who.name})

    @app.get("/v1/health", response_model=None,
             responses={**answers({200: (Health, "ok or degraded")}, 500),
                        **answers({503: (Health, "failing: the control loop is not "
                                         "running or the journal not writable")})},
             openapi_extra={"security": []})
    async def health() -> Response:
        """No token needed: for load balancers and supervisors. 503 when the control loop
        is not running or the journal cannot be written."""
        body = health_view(engine, state.ticker)
        return json_response(503 if body["status"] == "failing" else 200, body)

    metrics_security = ({"security": []} if state.settings.metrics_scope == "open"
                        else secured("read"))

    @app.get("/metrics", response_model=None,
             responses=answers({200: (None, "Prometheus text format")}, *_READ_PROBLEMS,
                               media="text/plain"),
             openapi_extra=metrics_security)
    async def metrics(request: Request) -> Response:
        if state.settings.metrics_scope != "open":
            principal(request, "read")
        return Response(engine.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(event_routes(state))
    app.include_router(dashboard_routes())
    _install_error_handlers(app)
    openapi.install(app)

    async def crashed(where: str, exc: Exception) -> None:
        engine.supervisor.crashed(f"server {where}", exc)
        async with turn:
            await engine.settle()

    max_bytes = state.settings.max_body_bytes
    app.add_middleware(CrashGuard, on_crash=crashed)
    app.add_middleware(BodyLimit, max_bytes=max_bytes)

    def guarded(dispatch: ASGIApp) -> ASGIApp:
        return BodyLimit(CrashGuard(dispatch, on_crash=crashed), max_bytes=max_bytes)

    # Outermost: the order-entry routes, before FastAPI's per-request layers (why:
    # `direct_routes.py`), inside the same crash guard and body limit as the rest.
    return DirectRoutes(app, routes_of=app, direct=ORDER_ENTRY, guard=guarded)


def _install_error_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return exc.response()

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        slug = DEFAULT_SLUG.get(exc.status_code, "bad-request")
        detail = exc.detail if isinstance(exc.detail, str) else slug.replace("-", " ")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed(app, request.url.path))
        return problem_response(exc.status_code, problem_body(exc.status_code, slug, detail),
                                headers)

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


def _allowed(app: FastAPI, path: str) -> list[str]:
    """Every method some route serves at `path`. Starlette's 405 names only the methods of
    the first route whose path matched (`Allow: POST` on /v1/orders, which GET serves
    too); RFC 9110 wants them all. Found by schemathesis."""
    methods: set[str] = set()
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path_regex.match(path):
            methods |= route.methods or set()
    return sorted(methods)


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
