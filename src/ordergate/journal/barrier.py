"""`fsync_together`: make several files durable at once.

Before an order leaves, the decision's audit lines and the journal's WAL must both be on
disk (`OrderLedger.commit_before_send`). Live, the audit lines ride in the journal's commit
(`journal/audit_rows.py`), so there is one descriptor, the WAL's, fsync'ed on the calling
thread: on this project's disk (ext4) two fsyncs took about twice one, together or not
(0.60 ms against 0.31 ms a send, measured on 2026-12-04), since the file system commits
them one after the other. With several (a barrier hook that hands over its own file),
one after the other the fsyncs cost their sum; together (one in a worker thread, the last on the calling thread, which waits for
the disk anyway) about the slower one: measured on this project's machine, 0.52 ms ->
0.34 ms at p50 and 2.0 ms -> 0.6 ms at p99 for an audit line and a WAL page. All of them
in worker threads would free the event loop meanwhile, but each wake-up across threads
costs about 0.1 ms, and a lone live decision (`bench live_path`) paid that in full: its
p50 grew from 1.05 ms to 1.22 ms, and the HTTP API's throughput did not move.

The HTTP API's stored answer has no barrier of its own: it waits for the WAL fsync that
covers its commit, often the next send's (`journal/wal_sync.py`).

A descriptor handed over must stay open until this returns: its owner only reopens one
at its next barrier, which comes after this one ends (decisions are taken one at a time).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence


async def fsync_together(fds: Sequence[int]) -> None:
    """fsync every descriptor, all but the last in worker threads, and wait for all of
    them. An error (an I/O error: the disk refused) is raised once every fsync has ended."""
    if not fds:
        return
    *others, last = fds
    loop = asyncio.get_running_loop()
    pending = [loop.run_in_executor(None, os.fsync, fd) for fd in others]
    error: BaseException | None = None
    try:
        os.fsync(last)
    except OSError as exc:
        error = exc
    for result in await asyncio.gather(*pending, return_exceptions=True):
        if isinstance(result, BaseException) and error is None:
            error = result
    if error is not None:
        raise error

