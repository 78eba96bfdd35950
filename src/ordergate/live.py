"""`ordergate run`: the engine on the wall clock against the configured venues, reading
signals (one JSON object per line) from a file or standard input.

The reader is the simplest decision-engine bridge there is. Shutdown on SIGINT/SIGTERM
(or end of input) is orderly: no new signal is taken, the signal in flight finishes,
the reconciler gets a last look at every unfinished order, and each order still not
finished gets an `order_open_at_shutdown` audit line saying where it was left.

One decision at a time: a signal (`engine.submit`) and a tick (`engine.tick`: polls,
cancels, reconciliation) never interleave, and the ticker starts only once start-up
recovery is done. Each decision ends by writing its audit lines and then committing
the journal; interleaved, one decision's journal commit (the executor commits before
every send) would carry another's transitions while their audit lines still wait in
the buffer, and a crash right then would leave, say, a CANCELLED order in the journal
that no audit line records and no later start re-audits (the crash test found this).
The price: a tick waits for a signal's send (seconds only while the venue is failing and
the executor retries), and a signal waits for a tick's polls.
"""

from __future__ import annotations

import asyncio
import os
import signal as signals
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from ordergate.clock import WallClock
from ordergate.config import EngineConfig
from ordergate.domain.signal import MAX_SIGNAL_LINE_BYTES, SignalParseError, parse_signal_json
from ordergate.engine import Engine
from ordergate.events import OrderOpenAtShutdown
from ordergate.gc_policy import freeze_start_up

MAX_LINE_BYTES = MAX_SIGNAL_LINE_BYTES
"""A longer line is not a signal: it is refused (`signal_invalid`) without being kept."""
_EOF = object()
_STOPPED = object()  # put by `_lines` when a stop is asked for, to wake a waiting `get`
QUEUE_LINES = 1024
Line = tuple[int, bytes | None]  # line number, the line (None: too long, not read)


class _LineReader:
    """Lines from standard input or a file, read by a daemon thread with `os.read`.

    Not a thread of the event loop's executor: `asyncio.run` waits for those at exit, so a
    reader blocked on a pipe that a strategy keeps open would keep the process alive after
    SIGTERM. Not `sys.stdin` either: a daemon thread inside its buffered reader aborts the
    interpreter at exit. Raw reads of the file descriptor have neither problem; the
    thread dies with the process. Lines are handed over through a bounded queue (the
    reader waits while the engine is behind) and are at most `MAX_LINE_BYTES` long: the
    rest of a longer line is skipped, never held in memory."""

    def __init__(self, fd: int, loop: asyncio.AbstractEventLoop) -> None:
        self._fd = fd
        self._loop = loop
        # Handed over with `call_soon_threadsafe`, one callback and no task per line (a
        # coroutine run with `run_coroutine_threadsafe` cost ~100 µs of a live signal's
        # path); the bound is the semaphore the reader takes a place from.
        self.queue: asyncio.Queue[Line | object] = asyncio.Queue()
        self._room = threading.Semaphore(QUEUE_LINES)
        threading.Thread(target=self._run, name="ordergate-signal-reader", daemon=True).start()

    def _put(self, item: Line | object) -> bool:
        self._room.acquire()  # waits while the engine is `QUEUE_LINES` lines behind
        try:
            self._loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the loop is gone: the run is over
            return False
        return True

    async def get(self) -> Line | object:
        item = await self.queue.get()
        if item is not _STOPPED:
            self._room.release()
        return item

    def _run(self) -> None:
        pending, number, skipping = bytearray(), 0, False
        while True:
            try:
                chunk = os.read(self._fd, 65536)
            except OSError:
                chunk = b""  # the input is gone: treated as its end
            if not chunk:
                if pending or skipping:
                    self._put((number + 1, None if skipping else bytes(pending)))
                self._put(_EOF)
                return
            start = 0
            while (end := chunk.find(b"\n", start)) >= 0:
                number += 1
                if skipping:
                    line: bytes | None = None
                else:
                    pending += chunk[start:end]
                    line = None if len(pending) > MAX_LINE_BYTES else bytes(pending)
                pending.clear()
                skipping = False
                if (line is None or line.strip()) and not self._put((number, line)):
                    return
                start = end + 1
            if not skipping:
                pending += chunk[start:]
                if len(pending) > MAX_LINE_BYTES:
                    pending.clear()
                    skipping = True


async def _lines(reader: _LineReader, stop: asyncio.Event) -> AsyncIterator[Line]:
    """Numbered lines until the input ends or a stop is asked for, whichever is first."""
    waker = asyncio.ensure_future(stop.wait())
    waker.add_done_callback(lambda _: reader.queue.put_nowait(_STOPPED))
    try:
        while not stop.is_set():
            item = await reader.get()
            if item is _EOF or item is _STOPPED:
                return
            assert isinstance(item, tuple)
            yield item
    finally:
        waker.cancel()


async def tick_loop(engine: Engine, stop: asyncio.Event, turn: asyncio.Lock) -> None:
    """The control loop. `engine.tick()` supervises its own steps and never raises; should
    anything escape anyway, the task ends with it and `run_live` stops the run (a live
    front that takes signals with nothing polling, cancelling or reconciling behind it is
    the one thing this loop must never become)."""
    interval = engine.config.reconciler.poll_interval_s
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            async with turn:
                await engine.tick()


async def feed_signals(engine: Engine, fd: int, stop: asyncio.Event, turn: asyncio.Lock) -> None:
    """Signal lines from `fd` into the engine until the input ends or a stop is asked for,
    each one a decision taken under `turn` (shared with the ticker, and in `ordergate
    serve` with the HTTP handlers)."""
    async for number, line in _lines(_LineReader(fd, asyncio.get_running_loop()), stop):
        async with turn:
            try:
                if line is None:
                    raise SignalParseError("json", f"line longer than {MAX_LINE_BYTES} bytes; "
                                           "not read")
                signal = parse_signal_json(line)
            except SignalParseError as error:
                engine.reject_invalid(error, number)
                continue
            except (RecursionError, ValueError, TypeError) as exc:
                # No line may end the process, whatever the parser makes of it.
                engine.reject_invalid(SignalParseError(
                    "json", f"unreadable line: {type(exc).__name__}"), number)
                continue
            await engine.submit(signal)


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set `stop`: an orderly shutdown, not an interrupted decision."""
    loop = asyncio.get_running_loop()
    for sig in (signals.SIGINT, signals.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass  # (tests; uvloop raises ValueError where asyncio raises RuntimeError)


async def run_live(config: EngineConfig, source: Path | None, stop: asyncio.Event | None = None) -> Engine:
    """Run until the input ends or a signal asks us to stop. Returns the closed engine."""
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    engine = Engine(config, WallClock())
    fd = os.open(source, os.O_RDONLY) if source is not None else sys.stdin.fileno()
    turn = asyncio.Lock()  # one decision at a time (module docstring)
    ticker: asyncio.Task[None] | None = None
    try:
        await engine.start()
        freeze_start_up()
        ticker = asyncio.create_task(tick_loop(engine, stop, turn))
        ticker.add_done_callback(lambda _: stop.set())  # a dead control loop ends the run
        await feed_signals(engine, fd, stop, turn)
        stop.set()
        await ticker  # re-raises whatever ended the control loop, if anything did
        await engine.tick()
        report_unfinished(engine)
    finally:
        stop.set()
        if ticker is not None:
            ticker.cancel()
        if source is not None:
            os.close(fd)
        await engine.close()
    return engine


def report_unfinished(engine: Engine) -> None:
    now = engine.clock.now()
    for order in engine.ledger.live_orders():
        where = ("the venue's answer is unknown; it will be looked up by client order ID "
                 "on the next start" if order.status.value == "SUBMITTED"
                 else f"working at {order.venue}, filled {order.filled_quantity} of {order.quantity}")
        engine.bus.publish(OrderOpenAtShutdown(now, order.client_order_id, order.signal_id,
                                               order.status, where))
    engine.audit.flush()
