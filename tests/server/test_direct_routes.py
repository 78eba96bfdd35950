"""The order-entry routes called straight from the ASGI scope: the same answers as through
FastAPI's router, a crash still reaches the supervisor, and a route that would need
FastAPI's request handling is refused when the app is built, not served wrongly."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from ordergate.server import views
from ordergate.server.direct_routes import DirectRoutes
from ordergate.server.problems import Problem
from ordergate.testing.served import READ, TRADE, signal


def _app() -> FastAPI:
    """A FastAPI app whose POST /direct is dispatched directly and whose other routes are
    FastAPI's; each answer says who answered it."""
    app = _app_without_direct()
    app.add_middleware(DirectRoutes, routes_of=app, direct=[("POST", "/direct")])
    return app


def _app_without_direct() -> FastAPI:
    app = FastAPI()

    @app.post("/direct")
    async def direct(request: Request) -> Response:
        if await request.body() == b"problem":
            raise Problem(409, "conflict", "as the endpoint said")
        return JSONResponse({"by": "endpoint", "route": request.scope["route"].path,
                             "via": request.scope.get("router") is None,
                             "app": request.app is app})

    @app.get("/direct")
    async def read(request: Request) -> Response:
        return JSONResponse({"by": "get", "via": request.scope.get("router") is None})

    return app


def _call(app: ASGIApp, method: str, path: str, body: bytes = b"") -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.request(method, path, content=body)
    return asyncio.run(go())


def test_an_endpoint_taking_more_than_the_request_is_refused_when_the_app_is_built():
    app = FastAPI()

    @app.post("/direct/{order_id}")
    async def takes_a_path_parameter(request: Request, order_id: str) -> Response:
        return Response()

    app.add_middleware(DirectRoutes, routes_of=app, direct=[("POST", "/direct/{order_id}")])
    with pytest.raises(TypeError, match="takes only the request"):
        _call(app, "POST", "/direct/1")


def test_a_route_that_is_not_declared_is_refused_when_the_app_is_built():
    app = FastAPI()
    app.add_middleware(DirectRoutes, routes_of=app, direct=[("POST", "/nowhere")])
    with pytest.raises(LookupError, match="no route POST /nowhere"):
        _call(app, "POST", "/nowhere")


def test_only_the_exact_method_and_path_are_dispatched_directly():
    app = _app()
    assert _call(app, "POST", "/direct").json() == {"by": "endpoint", "route": "/direct",
                                                   "via": True, "app": True}
    assert _call(app, "GET", "/direct").json() == {"by": "get", "via": False}
    assert _call(app, "POST", "/direct/").status_code in (307, 404)  # FastAPI's answer
    assert _call(app, "PUT", "/direct").status_code == 405
    assert _call(app, "POST", "/elsewhere").status_code == 404


def test_outermost_the_direct_routes_pass_the_guard_and_none_of_fastapis_layers():
    app = _app_without_direct()
    seen: list[str] = []

    @app.middleware("http")
    async def fastapi_layer(request, call_next):  # any layer of FastAPI's own stack
        seen.append(f"fastapi {request.method} {request.url.path}")
        return await call_next(request)

    def guard(inner):
        async def guarded(scope, receive, send):
            seen.append(f"guard {scope['method']} {scope['path']}")
            await inner(scope, receive, send)
        return guarded

    served = DirectRoutes(app, routes_of=app, direct=[("POST", "/direct")], guard=guard)
    r = _call(served, "POST", "/direct")
    assert r.json() == {"by": "endpoint", "route": "/direct", "via": True, "app": True}
    assert _call(served, "GET", "/direct").json()["by"] == "get"
    assert _call(served, "POST", "/direct", b"problem").status_code == 409
    assert seen == ["guard POST /direct", "fastapi GET /direct", "guard POST /direct"]


def test_a_problem_the_endpoint_raises_is_answered_as_problem_json():
    r = _call(_app(), "POST", "/direct", b"problem")
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == "as the endpoint said"


def test_a_crash_in_a_direct_route_is_a_500_audited_with_the_route_and_halting(served,
                                                                             monkeypatch):
    def broken(engine, signal, verdict):
        raise RuntimeError("secret-internal-detail")

    monkeypatch.setattr(views, "verdict_answer", broken)
    r = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=signal("s-crash"))
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert "secret-internal-detail" not in r.text and "Traceback" not in r.text
    errors = [l for l in served.audit() if l["event"] == "system_error"]
    assert len(errors) == 1 and errors[0]["handler"] == "server POST /v1/signals"
    assert httpx.get(f"{served.url}/v1/health").json()["trading_state"] == "HALTED"


def test_the_served_order_entry_routes_answer_as_before(served):
    r = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=signal("s-1"))
    assert r.status_code == 201, r.text
    again = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=signal("s-1"))
    assert again.status_code == 201 and again.json() == r.json()
    assert httpx.post(f"{served.url}/v1/signals", json=signal("s-2")).status_code == 401
    assert httpx.post(f"{served.url}/v1/signals", headers=READ,
                      json=signal("s-2")).status_code == 403
    r = httpx.post(f"{served.url}/v1/orders", headers=TRADE, json={})
    assert r.status_code == 400 and "Idempotency-Key" in r.json()["detail"]
