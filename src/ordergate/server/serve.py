"""`ordergate serve`: the live engine with its HTTP API, in one asyncio loop.

The same engine and discipline as `ordergate run` (`live.py`): start-up recovery first,
then the control loop (`tick_loop`), and every decision under one lock (`turn`), shared
here by the ticker, the HTTP handlers and, with `--signals`, the signal-file reader. So
an HTTP order and a signal line never interleave, and each decision's audit lines and
journal commit stay together.

uvicorn runs as a coroutine of this loop (`Server.serve`), on a socket bound here first
(a port in use is a clear error, not uvicorn's `sys.exit`; port 0 gives a free one, the
address is announced once the server is up). uvicorn's own signal capture is turned
off: SIGINT/SIGTERM set `stop`, and the stop is orderly as `run`'s is: the HTTP server
stops taking requests and lets those in flight finish (up to `_GRACE_S`), the signal
reader stops, the reconciler gets a last look, and each unfinished order gets its
`order_open_at_shutdown` line.

Refuses to start (`ServeError`) on a non-loopback address without tokens, or with a
token whose environment variable is unset.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import Callable, Generator, Mapping
from pathlib import Path

import uvicorn
from prometheus_client import Counter

from ordergate.clock import WallClock
from ordergate.config import EngineConfig, ServerSettings
from ordergate.engine import Engine
from ordergate.gc_policy import freeze_start_up
from ordergate.live import feed_signals, report_unfinished, stop_on_signals, tick_loop
from ordergate.server.app import ServerState, build_app
from ordergate.server.auth import Authenticator, TokenSetupError, is_loopback
from ordergate.server.event_hub import EventHub
from ordergate.server.idempotency import Idempotency

_GRACE_S = 10.0
"""How long a stop waits for HTTP requests in flight."""
_PURGE_EVERY_S = 300.0
STDIN = Path("-")
"""`--signals -`: read signal lines from standard input."""


class ServeError(RuntimeError):
    """The server cannot start as configured; the message says why (never a token)."""


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """ordergate handles SIGINT/SIGTERM itself: an orderly stop of the engine, not
        uvicorn's re-raise of the signal once it has shut down."""
        yield


def _bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ServeError(f"server.host {host!r}: {exc}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _count_refusals(auth: Authenticator, engine: Engine, settings: ServerSettings) -> None:
    """`ordergate_http_rate_limited_total{token}`, every limited token's series from the
    start (at 0): labels come from config, never from a request."""
    refused = Counter("ordergate_http_rate_limited", "Requests refused with 429, per token",
                      ["token"], registry=engine.metrics.registry)
    for entry in settings.tokens:
        if entry.requests_per_s is not None:
            refused.labels(entry.name)
    auth.limits.on_refused = lambda name: refused.labels(name).inc()


async def serve(config: EngineConfig, source: Path | None = None,
                stop: asyncio.Event | None = None, *,
                environ: Mapping[str, str] | None = None,
                ready: Callable[[str, Engine], None] | None = None) -> Engine:
    """Run until SIGINT/SIGTERM (or `stop`). `ready` is told the base URL (and given the
    engine, for tests) once the API answers. Returns the closed engine."""
    settings = config.server
    try:
        auth = Authenticator(settings, os.environ if environ is None else environ)
    except TokenSetupError as exc:
        raise ServeError(str(exc)) from None
    if not auth.enabled and not is_loopback(settings.host):
        raise ServeError(f"server.host {settings.host!r} is not a loopback address and no "
                         "[[server.tokens]] are configured: anyone who can reach it could "
                         "trade; add tokens or bind to 127.0.0.1")
    sock = _bind(settings.host, settings.port)
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    engine = Engine(config, WallClock())
    _count_refusals(auth, engine, settings)
    turn = asyncio.Lock()  # one decision at a time (live.py)
    idempotency = Idempotency(engine.journal, engine.clock, settings.idempotency_retention_s,
                              turn, engine.decision_end_deferred)
    state = ServerState(engine, turn, auth, idempotency, settings)
    state.events = EventHub(engine, settings.events, stop)  # ends its streams on stop
    # proxy_headers off: nothing here reads the client's address (limits are per token),
    # and uvicorn's rewriting of it from X-Forwarded-For was a layer every request passed.
    server = _Server(uvicorn.Config(
        build_app(state), proxy_headers=False, log_level="warning", access_log=False,
        lifespan="off", server_header=False, timeout_graceful_shutdown=int(_GRACE_S)))
    fd: int | None = None
    tasks: list[asyncio.Task[None]] = []
    try:
        await engine.start()
        freeze_start_up()
        idempotency.purge()
        ticker = asyncio.create_task(tick_loop(engine, stop, turn))
        ticker.add_done_callback(lambda _: stop.set())  # a dead control loop ends the run
        state.ticker = ticker
        tasks.append(asyncio.create_task(_purge_loop(idempotency, stop, turn)))
        web = asyncio.create_task(server.serve(sockets=[sock]))
        web.add_done_callback(lambda _: stop.set())  # no API, no serve
        while not server.started and not web.done() and not stop.is_set():
            await asyncio.sleep(0.01)
        if web.done():
            web.result()
            raise ServeError("the HTTP server stopped as it started")
        host, port = sock.getsockname()[:2]
        if ready is not None:
            ready(f"http://{'[' + host + ']' if ':' in host else host}:{port}", engine)
        if source is not None:
            fd = sys.stdin.fileno() if source == STDIN else os.open(source, os.O_RDONLY)
            tasks.append(asyncio.create_task(feed_signals(engine, fd, stop, turn)))
        await stop.wait()
        server.should_exit = True
        await asyncio.wait_for(web, timeout=_GRACE_S + 5)
        if ticker.done() and not ticker.cancelled():
            ticker.result()  # re-raises whatever ended the control loop, if anything did
        async with turn:
            await engine.tick()
            report_unfinished(engine)
    finally:
        stop.set()
        server.should_exit = True
        for task in tasks:
            task.cancel()
        if state.ticker is not None:
            state.ticker.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if fd is not None and source != STDIN:
            os.close(fd)
        sock.close()
        await engine.close()
    return engine


async def _purge_loop(idempotency: Idempotency, stop: asyncio.Event, turn: asyncio.Lock) -> None:
    """Forget expired idempotency keys every few minutes (and at start, in `serve`)."""
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=_PURGE_EVERY_S)
        except TimeoutError:
            async with turn:
                idempotency.purge()
