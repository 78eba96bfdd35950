"""`DirectRoutes`: the order-entry routes (`POST /v1/signals`, `POST /v1/orders`) called
straight from the ASGI scope, past FastAPI's router and its request handling.

Why: under load a durable signal costs the event loop's thread about 1.2 ms of CPU, and
the part between our outer middleware and the endpoint (Starlette's exception middleware,
FastAPI's exit stack, the router matching each route's pattern in turn, the route's
request handler resolving an empty set of dependencies and wrapping the answer) was a
tenth of it in py-spy's profile, and more in throughput: `bench.api_load`, alternated, 3
runs each, 581 -> 658 signals/s at the median (stop 28). Those layers do nothing for these
two routes: their endpoints take the raw `Request` and answer a `Response`.

Since stop 34 it is the application uvicorn calls, outside FastAPI altogether: the five
layers FastAPI and Starlette put around every request (FastAPI's check whether
OpenTelemetry is configured, Starlette's app, its server-error middleware, FastAPI's
exception-telemetry and body-limit middlewares) are skipped too. callgrind, `ordergate
serve` under `bench.api_load` (100 and 500 requests, durable, the journal's background
checkpoints left out since their count follows valgrind's slowness): 2,193,951 ->
2,149,191 instructions a request (-2.0%), with uvicorn's proxy-header rewriting off as
well (`serve.py`).

What is kept: the routes are still declared to FastAPI, so the OpenAPI document, a 405
for another method, a trailing slash and every other path are FastAPI's as before; only a
request whose method and path are exactly one of these comes here, to the same endpoint
function. `guard` wraps this dispatch in what the application's middleware does for every
other route (the body limit and `CrashGuard`, `app.py`): a `Problem` the endpoint raises
is answered as the application's handler answers it, anything else it raises goes on to
`CrashGuard`: a 500 problem and the supervisor, as from any route. What is not kept: an
OpenTelemetry span for these two routes, if one were configured (ordergate configures
none; its metrics are its own). An endpoint that takes more than the request would get
nothing from FastAPI here (no validation, no dependency), so one is refused when the
routes are built, not served wrongly.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ordergate.server.problems import Problem

Endpoint = Callable[[Request], Awaitable[Response]]


class DirectRoutes:
    """ASGI middleware, or the outermost application: `(method, path)` of a route of
    `routes_of` -> its endpoint, called with the request (through `guard`, if given);
    everything else -> `app`."""

    def __init__(self, app: ASGIApp, routes_of: FastAPI,
                 direct: Iterable[tuple[str, str]],
                 guard: Callable[[ASGIApp], ASGIApp] | None = None) -> None:
        self.app = app
        self._routes_of = routes_of
        self._routes: dict[tuple[str, str], tuple[APIRoute, Endpoint]] = {}
        for method, path in direct:
            route = _declared(routes_of, method, path)
            self._routes[method, path] = (route, _request_only(route))
        self._direct: ASGIApp = self._dispatch if guard is None else guard(self._dispatch)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["method"], scope["path"]) in self._routes:
            await self._direct(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        route, endpoint = self._routes[scope["method"], scope["path"]]
        scope["route"] = route  # as the router sets it: `CrashGuard` names the route
        scope.setdefault("app", self._routes_of)  # as Starlette sets it: `Request.app`
        try:
            response = await endpoint(Request(scope, receive))
        except Problem as problem:
            response = problem.response()
        await response(scope, receive, send)


def _declared(app: FastAPI, method: str, path: str) -> APIRoute:
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path == path \
                and method in (route.methods or ()):
            return route
    raise LookupError(f"no route {method} {path} is declared: declare it first")


def _request_only(route: APIRoute) -> Endpoint:
    """The route's endpoint, if its one parameter is the request (nothing for FastAPI to
    resolve or validate)."""
    parameters = list(inspect.signature(route.endpoint).parameters.values())
    if len(parameters) != 1 or parameters[0].annotation not in (Request, "Request"):
        raise TypeError(f"{route.path}: a direct route's endpoint takes only the request, "
                        f"not {[p.name for p in parameters]}")
    endpoint: Endpoint = route.endpoint
    return endpoint
