"""`AuditSink`: where audit lines go. Each is encoded as it is made (`_write`), held,
and handed to loguru's file sink (rotation, retention and compression as configured) one
batch per call (`flush`, `end_of_decision`), then shown to the observers; a barrier
makes them durable (`flush_for_sync`): kept in the journal's commit before a send
(`keep_in`, live), or else fsync'ed. Live, a batch that leaves the file within its size
is written by the sink itself, and loguru writes (and rotates) only the batch that would
take it past (`audit_rotation.py`). `AuditLog` (`subscribers/audit_log.py`) is one, with
a line for each event.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from loguru import logger

from ordergate.clock import Clock, isoformat
from ordergate.config import AuditSettings
from ordergate.subscribers.audit_durability import AuditSyncer
from ordergate.subscribers.audit_encoding import encode_line
from ordergate.subscribers.audit_rotation import size_limit

_instances = itertools.count()


class AuditRows(Protocol):
    """Where the audit file's unsynced text is kept until it is on disk (the journal,
    `journal/audit_rows.py`)."""

    def hold_audit(self, inode: int, end_offset: int, text: str) -> None: ...

    def drop_audit_through(self, inode: int, end_offset: int) -> None: ...


class AuditSink:
    def __init__(self, settings: AuditSettings, clock: Clock, path: Path | None = None,
                 batch_lines: int = 1) -> None:
        self._clock = clock
        self.batch_lines = batch_lines
        """`end_of_decision()` writes once this many lines are waiting (1: every decision)."""
        self.path = path or settings.path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        token = f"audit-{next(_instances)}"
        given = settings.rotation
        self._limit = sys.maxsize if given is None else size_limit(given)
        """The size loguru rotates at, in bytes (no rotation: the largest); None: by time."""
        rotation: str | int | None = given
        if given is not None and self._limit is not None:
            rotation = self._limit  # loguru and `_append` use the same number
        self._sink_id = logger.add(
            self.path, format="{message}", level="INFO", catch=False, enqueue=False,
            rotation=rotation, retention=settings.retention,
            compression=settings.compression, encoding="utf-8", diagnose=False,
            filter=lambda record: record["extra"].get("ordergate_audit") == token,
        )
        self._buffer: list[str] = []
        self._records: list[dict[str, Any]] = []  # each line as the dict it was encoded from
        self.observers: list[Callable[[list[str], list[dict[str, Any]]], None]] = []
        """Called with every batch of encoded lines (no newlines) once loguru has written
        it, in file order, and with the dicts they were encoded from (so an observer that
        looks at a field does not decode the line again: the event stream's hub did, 33 µs
        a decision); must not raise or keep the engine waiting, and must not change either
        list. A batch whose write failed is not observed: what the stream shows is in the
        file."""
        self._synced: tuple[int, int] | None = None  # (fd, inode) of the file fsync'ed last
        self._appending: tuple[int, int] | None = None  # (fd, inode) `_append` writes to
        self._warned = False
        self._last_ts: Any = None
        self._last_iso = ""
        self._info = logger.bind(ordergate_audit=token).info
        self._warning = logger.bind(ordergate_audit=token).warning
        # Kept in the journal (`keep_in`): the text written since the last barrier and not
        # known to be on disk, as (offset the file ends at after it, text); the file's inode;
        # the last point on disk told to the journal; whether a rotation is still to tell.
        self._rows: AuditRows | None = None
        self._syncer: AuditSyncer | None = None
        self._written: list[tuple[int, str]] = []
        self._inode: int | None = None
        self._end = 0  # the file's size after the last write, as this sink knows it
        self._told: tuple[int, int] | None = None
        self._forgotten: tuple[int, int] | None = None  # the point `_written` was cut at
        self._rotated = False

    def keep_in(self, rows: AuditRows, interval_s: float = 0.05) -> None:
        """Make each barrier's lines durable in `rows`' commit (the journal's, fsync'ed
        before the send) instead of by an fsync of this file, which a thread of its own
        fsyncs at most every `interval_s` (`subscribers/audit_durability.py`)."""
        self._rows = rows
        self._syncer = AuditSyncer(self.path, interval_s)
        # held open on the file, for a rotation to fsync the file it leaves
        if (fd := self._fd()) is not None and self._synced is not None:
            self._inode, self._end = self._synced[1], os.fstat(fd).st_size

    def close(self) -> None:
        self.flush()
        logger.remove(self._sink_id)
        if self._appending is not None:
            os.close(self._appending[0])
            self._appending = None
        if self._syncer is not None:
            self._syncer.stop()
            if (fd := self._fd()) is not None:
                os.fsync(fd)  # a clean stop leaves the file on disk whole
        if self._synced is not None:
            os.close(self._synced[0])
            self._synced = None

    def flush_for_sync(self) -> int | None:
        """Flush, and return the descriptor to fsync for the lines to be durable (None:
        nothing written yet): the barrier before an order leaves (live runs), fsync'ed
        together with the journal's WAL (`journal/barrier.py`).

        The journal commits (and fsyncs) an order before its request is sent; the lines of
        the decision that led to it (the signal received, each handler's verdict, the
        send) must be on disk by then as well, or a kill during the send leaves an order
        and its fills that no audit line explains. loguru writes each batch through to
        the OS (line-buffered); fsync on a descriptor of our own covers the same file
        (fsync is per file, not per descriptor), reopened when rotation made a new one,
        and open until the next call.

        Kept in the journal (`keep_in`), the text written since the last barrier goes into
        the journal's commit instead, and None is returned: the WAL's fsync covers both."""
        self.flush()
        if self._rows is not None and self._syncer is not None:
            self._keep_unsynced(self._rows, self._syncer)
            return None
        return self._fd()

    def _fd(self) -> int | None:
        """A descriptor of the file as it is now (reopened after a rotation)."""
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            return None  # nothing written yet: nothing to make durable
        if self._synced is None or self._synced[1] != inode:
            if self._synced is not None:
                os.close(self._synced[0])
            self._synced = (os.open(self.path, os.O_RDONLY), inode)
        return self._synced[0]

    def _write(self, ts: Any, event: str, signal_id: str | None, client_order_id: str | None,
               handler: str | None, decision: str, reason: str, warn: bool = False,
               **details: Any) -> None:
        if ts is not self._last_ts:  # a decision's lines mostly share one time object
            self._last_ts, self._last_iso = ts, isoformat(ts)
        record = {"ts": self._last_iso, "event": event, "signal_id": signal_id,
                  "client_order_id": client_order_id, "handler": handler,
                  "decision": decision, "reason": reason}
        if details:
            record.update(details)
        self._buffer.append(encode_line(record))
        self._records.append(record)
        if warn:
            self._warned = True

    def end_of_decision(self) -> None:
        """A decision is over: write its lines, or, batching, once enough are waiting."""
        if len(self._buffer) >= self.batch_lines:
            self.flush()

    def flush(self) -> None:
        """Write the buffered lines: one loguru call per batch, not per line.

        The engine flushes after every signal and every tick, so a line waits at most
        for the decision it belongs to; a batch that holds a warning goes out at WARNING."""
        if self._buffer:
            lines, self._buffer = self._buffer, []
            records, self._records = self._records, []
            text = "\n".join(lines)
            if self._warned or not self._append(text + "\n"):
                (self._warning if self._warned else self._info)(text)
            self._warned = False
            if self._syncer is not None:
                self._wrote(text + "\n", self._syncer)
            for observer in self.observers:
                observer(lines, records)

    def _append(self, text: str) -> bool:
        """Write `text` to the file past loguru, if that is sure to be what loguru would do:
        live (`keep_in`: the sink knows the file and its size), and the file stays within
        the size loguru rotates at (loguru rotates when `size + len(text) > limit`). A batch
        with a warning goes through loguru, at WARNING, as before."""
        limit, inode = self._limit, self._inode
        if self._syncer is None or limit is None or inode is None \
                or self._end + len(text) > limit:
            return False
        if self._appending is None or self._appending[1] != inode:
            if self._appending is not None:
                os.close(self._appending[0])
                self._appending = None
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            except FileNotFoundError:
                return False  # removed from under us: loguru writes where it has it open
            if os.fstat(fd).st_ino != inode:  # the path names another file: loguru's turn
                os.close(fd)
                return False
            self._appending = (fd, inode)
        data = memoryview(text.encode())
        while data:  # a regular file takes it whole; a full disk raises, as in loguru
            data = data[os.write(self._appending[0], data):]
        return True

    # ------------------------------------------------------------------ kept in the journal

    def _wrote(self, text: str, syncer: AuditSyncer) -> None:
        """`text` reached the file: note where it ends, for the next barrier's row.

        A rotation (loguru moved the file aside before this write) is seen here: the file
        left is fsync'ed at once (once a rotation), so none of its text needs a row. The
        file held open having grown by exactly the text says there was none (an `fstat`);
        only otherwise is the path looked up."""
        end = self._end + len(text.encode())
        held = self._fd_of(self._inode) if self._inode is not None else None
        if held is None or os.fstat(held).st_size != end:
            status = os.stat(self.path)
            if status.st_ino != self._inode:
                if held is not None:
                    os.fsync(held)
                self._inode, self._rotated = status.st_ino, True
                self._written.clear()
                self._fd()
            end = status.st_size
        self._end = end
        self._written.append((end, text))
        self._forget_on_disk(syncer.durable)
        syncer.written()

    def _forget_on_disk(self, durable: tuple[int, int] | None) -> None:
        """Let go of the written text the file has on disk (`durable`: the syncer's last
        word), once each time it moves: no row needs it."""
        if durable is not None and durable[0] == self._inode and durable != self._forgotten:
            self._forgotten = durable
            self._written = [(end, text) for end, text in self._written if end > durable[1]]

    def _fd_of(self, inode: int) -> int | None:
        """The descriptor this sink holds open on the file with `inode`, if any."""
        return self._synced[0] if self._synced is not None and self._synced[1] == inode else None

    def _keep_unsynced(self, rows: AuditRows, syncer: AuditSyncer) -> None:
        """Into the journal's open transaction: what is on disk now (rows let go) and the
        text written since the last barrier that is not (a row)."""
        inode = self._inode
        if inode is None:
            return  # nothing written yet
        durable = syncer.durable
        if self._rotated:
            rows.drop_audit_through(inode, 0)  # the rows of the file left: it is on disk
            self._rotated = False
        if durable is not None and durable[0] == inode and durable != self._told:
            rows.drop_audit_through(*durable)
            self._told = durable
        self._forget_on_disk(durable)
        if self._written:
            rows.hold_audit(inode, self._written[-1][0], "".join(t for _, t in self._written))
            self._written = []
