"""`Checkpointer`: the WAL's pages copied into the database file by a thread of its own,
ahead of SQLite's automatic checkpoint, so that the commits of a live decision do not
wait for it.

Why: SQLite checkpoints a WAL database inside the commit that takes the WAL past 1,000
pages: it copies those pages into the database file and fsyncs both files, there and then,
on the committing thread. A durable journal commits about three times a decision (before
the send, at its end, the HTTP API's answer), all on the event loop's thread, so every
hundred decisions or so one of them stopped for the copy: measured on the development
machine with a journal's rows, 32 commits of 4,000 took 2 to 27 ms, two thirds of all
commit time (mean 226 µs a commit against a median of 64).

A second connection in a worker thread runs a `PASSIVE` checkpoint whenever commits have
come, at most every `interval_s`. SQLite makes that safe beside the writer: a passive
checkpoint copies only committed frames, never blocks a writer and is never blocked by one,
and releases the interpreter lock while it works. The writer's own automatic checkpoint
stays on: when it comes, it finds the pages already copied and only syncs, and it still
restarts the WAL from its beginning, so the WAL stays as small as before. Measured the same
way: mean commit 99-102 µs, longest 5.5-6.2 ms, the WAL 4.3 MB as before. Durability is
SQLite's and unchanged: a checkpoint moves committed pages, it commits nothing.

The writer's own checkpoint still came inside one commit in a hundred or so: timed inside
`bench.live_path` (5,000 signals), a commit's p50 79-87 µs but its p99 1.27-1.34 ms, the
live path's p99 to the send 2.0-2.4 ms. A live journal's writer checkpoints at 10,000 pages
instead of SQLite's 1,000 (`WAL_AUTOCHECKPOINT_PAGES`): a commit's p99 200-204 µs, the
path's p99 1.36-1.52 ms, its p50 unchanged; the WAL file grows to about 40 MB before it
starts over, instead of 4 MB (about 10 MB since a live journal's pages are 1 KiB:
`order_journal.DURABLE_PAGE_SIZE`). Without the writer's checkpoint at all (`wal_autocheckpoint=0`)
the WAL never starts over and every fsync of it extends the file: the path's p50 rose by a
fifth.

Only a durable journal has one (live runs): a replay's journal commits once per batch.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from loguru import logger


class Checkpointer:
    def __init__(self, path: Path, interval_s: float = 0.05) -> None:
        self._path = path
        self._interval_s = interval_s
        self._wake = threading.Event()
        self._stopping = False
        self.checkpoints = 0
        """Passive checkpoints run (for tests and the curious)."""
        self.failed: str | None = None
        """Why the thread stopped early (an error of SQLite's, told once as a warning): the
        writer's own checkpoints go on as without it, and its commits meet the same error."""
        self._thread = threading.Thread(target=self._run, name="journal-checkpointer",
                                        daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """A commit reached the WAL: copy it ahead of the next automatic checkpoint."""
        if not self._wake.is_set():
            self._wake.set()

    def stop(self) -> None:
        """Wait for a checkpoint under way and end the thread (before the journal closes,
        so that the journal's connection is the last and SQLite's final checkpoint is its)."""
        self._stopping = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            self._loop()
        except sqlite3.Error as exc:
            self.failed = f"{type(exc).__name__}: {exc}"
            logger.warning("journal {}: checkpoints ahead of SQLite's stopped ({}); SQLite's "
                           "own go on", self._path, self.failed)

    def _loop(self) -> None:
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            # As the journal's: a checkpoint syncs the WAL before and the database after.
            db.execute("PRAGMA synchronous=NORMAL")
            # `_stopping` checked before each wait: a `stop()` during the sleep below has
            # its wake-up cleared with the commits'.
            while not self._stopping:
                self._wake.wait()
                if self._stopping:
                    return
                time.sleep(self._interval_s)  # let a few commits gather
                self._wake.clear()
                self._checkpoint(db)
                self.checkpoints += 1
        finally:
            db.close()

    @staticmethod
    def _checkpoint(db: sqlite3.Connection) -> None:
        """One passive checkpoint. One that finds another running (the writer's own) copies
        nothing and says so in its row, not by raising: its turn, nothing lost, and the
        next commit wakes this thread again."""
        db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
