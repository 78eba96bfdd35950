"""`JournalAuditRows`: the audit log's unsynced text, kept in the journal (schema v10).

Why: before an order leaves, the lines that explain it (the signal received, each
handler's verdict, the send) must survive a power loss as the order does. Fsyncing the
audit file beside the WAL cost a second fsync on every send; on this project's disk two
fsyncs take about twice one (ext4 commits them one after the other). Written into the
same commit as the order instead, the text is durable with the WAL's one fsync, and the
audit file is fsync'ed in the background (`subscribers/audit_durability.py`), which then
lets the rows go.

A row is text the audit file was handed, with the file's inode and the offset its text
ends at; rows follow each other in the file. A start reads them back and puts back into
the file what a power loss took from it.

A mixin: the connection, the held writes and the commits are `OrderJournal`'s.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING


class JournalAuditRows:
    if TYPE_CHECKING:  # what it uses of `OrderJournal`, declared for mypy
        _db: sqlite3.Connection

        def _write_held(self) -> None: ...

        def commit(self, *, sync: bool = True) -> None: ...

    # ------------------------------------------------------------------ audit rows (v10)

    def hold_audit(self, inode: int, end_offset: int, text: str) -> None:
        """Keep audit text in the open transaction: the next commit (the send's barrier)
        makes it durable with the order."""
        self._db.execute("INSERT INTO audit_unsynced (inode, end_offset, text) VALUES (?,?,?)",
                         (inode, end_offset, text))

    def drop_audit_through(self, inode: int, end_offset: int) -> None:
        """The audit file with `inode` is on disk through `end_offset`: its rows up to there
        are no longer needed, nor any of another file (a rotation synced it whole)."""
        self._db.execute("DELETE FROM audit_unsynced WHERE inode<>? OR end_offset<=?",
                         (inode, end_offset))

    def audit_rows(self) -> list[tuple[int, int, str]]:
        """(inode, end_offset, text) of every row, in the order they were written."""
        self._write_held()
        return [(int(inode), int(end), str(text)) for inode, end, text in self._db.execute(
            "SELECT inode, end_offset, text FROM audit_unsynced ORDER BY seq")]

    def clear_audit(self) -> None:
        """Every row's text is in the audit file, on disk: forget them (committed now)."""
        self._write_held()
        self._db.execute("DELETE FROM audit_unsynced")
        self.commit()
