"""`AuditSink`: where audit lines go. Each is encoded as it is made (`_write`), held,
and handed to loguru's file sink (rotation, retention and compression as configured) one
batch per call (`flush`, `end_of_decision`), then shown to the observers; a barrier
fsyncs the file (`flush_for_sync`). `AuditLog` (`subscribers/audit_log.py`) is one, with a
line for each event.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loguru import logger

from ordergate.clock import Clock
from ordergate.config import AuditSettings
from ordergate.subscribers.audit_encoding import encode_line

_instances = itertools.count()


class AuditSink:
    def __init__(self, settings: AuditSettings, clock: Clock, path: Path | None = None,
                 batch_lines: int = 1) -> None:
        self._clock = clock
        self.batch_lines = batch_lines
        """`end_of_decision()` writes once this many lines are waiting (1: every decision)."""
        self.path = path or settings.path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        token = f"audit-{next(_instances)}"
        self._sink_id = logger.add(
            self.path, format="{message}", level="INFO", catch=False, enqueue=False,
            rotation=settings.rotation, retention=settings.retention,
            compression=settings.compression, encoding="utf-8", diagnose=False,
            filter=lambda record: record["extra"].get("ordergate_audit") == token,
        )
        self._buffer: list[str] = []
        self.observers: list[Callable[[list[str]], None]] = []
        """Called with every batch of encoded lines (no newlines) once loguru has written
        it, in file order; must not raise or keep the engine waiting, and must not change
        the list. A batch whose write failed is not observed: what the stream shows is in
        the file."""
        self._synced: tuple[int, int] | None = None  # (fd, inode) of the file fsync'ed last
        self._last_ts: Any = None
        self._last_iso = ""
        self._warned = False
        self._info = logger.bind(ordergate_audit=token).info
        self._warning = logger.bind(ordergate_audit=token).warning

    def close(self) -> None:
        self.flush()
        logger.remove(self._sink_id)
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
        and open until the next call."""
        self.flush()
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
        if ts != self._last_ts:  # most lines of a decision share one timestamp
            self._last_ts, self._last_iso = ts, ts.isoformat()
        record = {"ts": self._last_iso, "event": event, "signal_id": signal_id,
                  "client_order_id": client_order_id, "handler": handler,
                  "decision": decision, "reason": reason}
        if details:
            record.update(details)
        self._buffer.append(encode_line(record))
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
            (self._warning if self._warned else self._info)("\n".join(lines))
            self._warned = False
            for observer in self.observers:
                observer(lines)
