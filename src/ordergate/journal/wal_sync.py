"""`WalSync`: how many of the journal's commits are on disk, and a wait for the WAL fsync
that covers one (group commit).

Why: the HTTP API's stored answer is committed, and must be on disk before its client
reads it (`server/idempotency.py`). It had an fsync of its own, in a worker thread so that
the event loop could go on with the next decision meanwhile. But under load that next
decision's barrier fsyncs the same WAL well within a millisecond, and one fsync covers
every commit written before it starts (the WAL is one file, appended to in order), so the
answer's own fsync was a second one each request; and the hand-offs to the worker thread
and back cost the loop about as much time as an fsync takes: with every fsync made a
no-op, `bench.api_load` did 640 requests/s with it in the worker and 800-860 with it on
the loop's thread (measured 2026-12-04).

Now an answer waits for the first WAL fsync that starts after its commit: the next
barrier's, when the next decision reaches its send in the loop's next turn (a queued
request); otherwise a barrier of its own on the loop's thread, one turn later (no request
waiting, a refused signal, a decision that must ask the venue first).

The answer is not even committed on its own: it is held in the journal's open
transaction, with the end of the decision it answers (the audit lines written after the
send, the venue's answer and fills: `DeferredEnd`), and the barrier that covers it writes
those lines, commits and fsyncs them all, audit first as at every barrier. Under load one
audit write, one commit and one fsync a request, where there were two, three and two;
and a client that reads an answer finds the lines that explain it on disk too.

The journal counts its commits (`committed`); whoever fsyncs the WAL reads that count
before the fsync and reports it after (`synced_through`), so a commit made while an fsync
is under way is never taken for covered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class DeferredEnd:
    """Handed to whoever defers the end of a decision (`Engine.decision_end_deferred`):
    `handed_over` once something waits for the next barrier (`WalSync.on_disk`), which
    then writes the decision's last audit lines and commits them; else the end comes on
    leaving, as without the deferral."""

    __slots__ = ("handed_over",)

    def __init__(self) -> None:
        self.handed_over = False


class WalSync:
    def __init__(self, fsync_wal: Callable[[], None], barrier: Callable[[], None]) -> None:
        self._fsync_wal = fsync_wal
        self.barrier = barrier
        """Commits what is held and fsyncs it, reporting `synced_through`: the journal's
        own commit, or, live, the ledger's barrier (the audit lines first)."""
        self.committed = 0
        """Commits made so far (the journal counts each)."""
        self.synced = 0
        """Commits known to be on disk: every one up to this count."""
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []

    def synced_through(self, through: int) -> None:
        """A WAL fsync has returned that started once `through` commits were made: those
        are on disk; wake whoever waits for one of them."""
        if through <= self.synced:
            return
        self.synced = through
        still: list[tuple[int, asyncio.Future[None]]] = []
        for commit, future in self._waiting:
            if commit > through:
                still.append((commit, future))
            elif not future.done():  # done: its waiter was cancelled
                future.set_result(None)
        self._waiting = still

    def sync_now(self) -> None:
        """fsync the WAL here and now (on the calling thread)."""
        through = self.committed
        self._fsync_wal()
        self.synced_through(through)

    async def on_disk(self, commit: int) -> None:
        """Return once commit number `commit` (made, or the next one, for what is held) is
        on disk: covered by the next barrier made in the loop's next turn, or by one of
        its own right after it. A barrier that failed (an fsync the disk refused) is
        raised here, to every waiter it leaves uncovered."""
        if commit <= self.synced:
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._waiting.append((commit, future))
        loop.call_soon(self._sync_if_behind, commit)
        await future

    def _sync_if_behind(self, commit: int) -> None:
        """The loop's turn after `commit`'s wait began: a barrier, unless one came."""
        if commit <= self.synced:
            return
        try:
            self.barrier()
        # Not raised here (a loop callback: it would only be logged and the waiters would
        # hang): each waiter raises it, so no answer is read that is not on disk.
        except Exception as exc:  # noqa: BLE001 - the disk refused, or SQLite did
            waiting, self._waiting = self._waiting, []
            for _, future in waiting:
                if not future.done():
                    future.set_exception(exc)
