"""The audit log made durable through the journal: its file fsync'ed in the background
(`AuditSyncer`), and what a power loss took from it put back at the next start
(`restore_audit`).

Why: the lines that explain an order must be on disk before the order leaves. They used to
be fsync'ed in the audit file beside the journal's WAL at every send: two fsyncs, which on
this project's disk (ext4) take about twice one, since the file system commits them one
after the other. Now the text the audit file was handed since it was last fsync'ed rides
in the journal's commit before the send (`journal/audit_rows.py`), so the send waits for
the WAL's fsync alone, and the file itself is fsync'ed a little later by a thread of its
own. A kill loses nothing either way (the OS has every write); a power loss can take the
file's unsynced end, and the journal's rows hold it.

The rows of one file follow each other in it: each ends where the file's size stood after
its text was written. At a start, each row's text is compared with the file's bytes where
it should be; from the first that differs (cut short, or zeros, as a power loss leaves a
file's end), the file is cut back there and the rows' text written again. A rotation
fsyncs the file it leaves (`AuditSink`), so only the newest file's rows can need it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from loguru import logger


class AuditSyncer:
    """fsyncs the audit file a little after lines are written to it, at most every
    `interval_s`, and says how far it is on disk (`durable`)."""

    def __init__(self, path: Path, interval_s: float = 0.05) -> None:
        self._path = path
        self._interval_s = interval_s
        self._wake = threading.Event()
        self._stopping = False
        self.durable: tuple[int, int] | None = None
        """(inode, size): the audit file with that inode is on disk through that size.
        Set by the thread, read by the event loop's (one assignment of a tuple)."""
        self.failed: str | None = None
        """Why the thread stopped (an fsync the disk refused, told once as a warning): the
        rows then stay in the journal, which makes the lines durable as before."""
        self._thread = threading.Thread(target=self._run, name="audit-syncer", daemon=True)
        self._thread.start()

    def written(self) -> None:
        """Lines reached the file: fsync it soon."""
        if not self._wake.is_set():
            self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stopping:
                self._wake.wait()
                if self._stopping:
                    return
                time.sleep(self._interval_s)  # let a few decisions' lines gather
                self._wake.clear()
                self.durable = sync_file(self._path)
        except OSError as exc:
            self.failed = f"{type(exc).__name__}: {exc}"
            logger.warning("audit log {}: background fsync stopped ({}); its lines stay in "
                           "the journal", self._path, self.failed)


def sync_file(path: Path) -> tuple[int, int] | None:
    """fsync the file at `path`; (inode, size it is on disk through), None if there is none.
    The size is read before the fsync: everything written before it is covered."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None  # nothing written yet (or rotated this instant): nothing on disk to say
    try:
        status = os.fstat(fd)
        os.fsync(fd)
        return status.st_ino, status.st_size
    finally:
        os.close(fd)


def restore_audit(path: Path, rows: Sequence[tuple[int, int, str]]) -> int:
    """Put back into the audit file what it lost of the journal's `rows` ((inode,
    end_offset, text), in order); returns how many bytes were written again (0: the file
    had them all, as after a kill or a clean stop). Rows of an older file than the newest
    were fsync'ed whole when it rotated. Where the newest file cannot be found (rotated and
    compressed since), nothing is written, and a warning says so."""
    if not rows:
        return 0
    inode = rows[-1][0]
    rows = [row for row in rows if row[0] == inode]
    target = _file_with_inode(path, inode)
    if target is None:
        logger.warning("audit log {}: {} bytes kept in the journal belong to a file no "
                       "longer there (rotated and compressed?); not restored", path,
                       sum(len(text.encode()) for _, _, text in rows))
        return 0
    pieces = [(end - len(data), end, data) for _, end, text in rows
              for data in (text.encode(),)]
    with open(target, "r+b") as file:
        first = pieces[0][0]
        file.seek(first)
        held = file.read()
        cut = next((start for start, end, data in pieces
                    if held[start - first:end - first] != data), None)
        if cut is None:
            _cut_torn_end(file, pieces[-1][1], held[pieces[-1][1] - first:], target)
            return 0
        file.truncate(cut)
        file.seek(cut)
        again = b"".join(data for start, _, data in pieces if start >= cut)
        file.write(again)
        file.flush()
        os.fsync(file.fileno())
    logger.warning("audit log {}: {} bytes it lost after offset {} (a power loss?) written "
                   "again from the journal", target, len(again), cut)
    return len(again)


def _cut_torn_end(file: BinaryIO, at: int, tail: bytes, target: Path) -> None:
    """After the last row: lines written since the last send, never promised to be on
    disk. Whole lines stay; a line cut short or zeros (a power loss tore the file's
    unsynced end) are cut off, so that the file is whole lines again."""
    zero = tail.find(b"\0")
    keep = tail[:zero if zero >= 0 else len(tail)].rfind(b"\n") + 1
    if keep == len(tail):
        return
    file.truncate(at + keep)
    file.flush()
    os.fsync(file.fileno())
    logger.warning("audit log {}: {} bytes of a torn end (a power loss?) cut off at offset {}",
                   target, len(tail) - keep, at + keep)


def _file_with_inode(path: Path, inode: int) -> Path | None:
    """The audit file, or the rotated one of its folder, that has `inode`."""
    try:
        if os.stat(path).st_ino == inode:
            return path
    except FileNotFoundError:
        pass  # no file at the path (moved away): the folder may still hold the one wanted
    for entry in os.scandir(path.parent):
        if entry.is_file() and entry.inode() == inode:
            return Path(entry.path)
    return None
