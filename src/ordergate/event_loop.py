"""`run_live_loop`: the event loop of the long-running commands (`ordergate run`,
`ordergate serve`, and the test harness that serves the API as `serve` does).

uvloop (libuv) where it is installed, the standard loop otherwise. A live engine's loop is
busy with small things (a socket read, a thread's hand-over of a signal line, a worker
thread's fsync ending, a response write), and uvloop does each for less: measured on the
project's 2-core machine (alternated runs in one session), a signal line's hand-over from
the reader thread to `Engine.submit` fell from 135 to 112 µs at p50, and `POST
/v1/signals` under load went up by about 5% on top of httptools' parser.

Replays keep the standard loop: a replay barely waits on the loop (its awaits complete
at once), and its byte-identical output should not depend on which loop ran it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop, or None (asyncio's default) when uvloop is not importable."""
    try:
        import uvloop
    except ImportError:  # not installed (another platform): the standard loop
        return None
    return uvloop.new_event_loop


def run_live_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to its end on a fresh loop, as `asyncio.run` does."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
