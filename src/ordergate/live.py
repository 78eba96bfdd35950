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
import signal as signals
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TextIO

from ordergate.clock import WallClock
from ordergate.config import EngineConfig
from ordergate.domain.signal import SignalParseError, parse_signal_json
from ordergate.engine import Engine
from ordergate.events import OrderOpenAtShutdown


async def _lines(source: TextIO, stop: asyncio.Event) -> AsyncIterator[tuple[int, str]]:
    """Lines from a file or a pipe without blocking the event loop (a reader thread)."""
    loop = asyncio.get_running_loop()
    number = 0
    while not stop.is_set():
        reading: asyncio.Future[str] = loop.run_in_executor(None, source.readline)
        stopping: asyncio.Future[bool] = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait((reading, stopping), return_when=asyncio.FIRST_COMPLETED)
        if reading not in done:
            reading.cancel()
            stopping.cancel()
            return
        stopping.cancel()
        line = reading.result()
        if line == "":
            return
        number += 1
        if line.strip():
            yield number, line


async def _ticker(engine: Engine, stop: asyncio.Event, turn: asyncio.Lock) -> None:
    interval = engine.config.reconciler.poll_interval_s
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            async with turn:
                await engine.tick()


async def run_live(config: EngineConfig, source: Path | None, stop: asyncio.Event | None = None) -> Engine:
    """Run until the input ends or a signal asks us to stop. Returns the closed engine."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signals.SIGINT, signals.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread (tests)
            pass
    engine = Engine(config, WallClock())
    handle = open(source, encoding="utf-8") if source is not None else sys.stdin
    turn = asyncio.Lock()  # one decision at a time (module docstring)
    ticker: asyncio.Task[None] | None = None
    try:
        await engine.start()
        ticker = asyncio.create_task(_ticker(engine, stop, turn))
        async for number, line in _lines(handle, stop):
            async with turn:
                try:
                    signal = parse_signal_json(line)
                except SignalParseError as error:
                    engine.reject_invalid(error, number)
                    continue
                await engine.submit(signal)
        stop.set()
        await ticker
        await engine.tick()
        _report_unfinished(engine)
    finally:
        stop.set()
        if ticker is not None:
            ticker.cancel()
        if source is not None:
            handle.close()
        await engine.close()
    return engine


def _report_unfinished(engine: Engine) -> None:
    now = engine.clock.now()
    for order in engine.ledger.live_orders():
        where = ("the venue's answer is unknown; it will be looked up by client order ID "
                 "on the next start" if order.status.value == "SUBMITTED"
                 else f"working at {order.venue}, filled {order.filled_quantity} of {order.quantity}")
        engine.bus.publish(OrderOpenAtShutdown(now, order.client_order_id, order.signal_id,
                                               order.status, where))
    engine.audit.flush()
