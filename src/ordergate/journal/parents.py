"""`JournalParents`: the journal's parents (schema v8), what carries on after its
decision (a bracket, an algorithm, a block): recorded `active` with its spec (its JSON),
its status and spec kept as it is carried out, and the active ones read back for a
restart to carry on.

A mixin: the connection, the held writes and the batch are `OrderJournal`'s.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import TYPE_CHECKING, Any


class JournalParents:
    if TYPE_CHECKING:  # what it uses of `OrderJournal`, declared for mypy
        _db: sqlite3.Connection

        def _write_held(self) -> None: ...

        def _wrote(self, statements: int = 1) -> None: ...

        def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]: ...

    # ------------------------------------------------------------------ parents (v8)

    def insert_parent(self, parent_id: str, kind: str, signal_id: str, spec: str,
                      ts: datetime) -> bool:
        """Record a bracket or an algorithm (`spec`: its JSON) as `active`. False if
        `parent_id` is already journaled (a replayed signal finds its parent there)."""
        self._write_held()
        iso = ts.isoformat()
        cursor = self._db.execute("INSERT OR IGNORE INTO parents VALUES (?,?,?,?,?,?,?)",
                                  (parent_id, kind, signal_id, spec, "active", iso, iso))
        self._wrote()
        return bool(cursor.rowcount)

    def set_parent_status(self, parent_id: str, status: str, ts: datetime) -> None:
        self._write_held()
        self._db.execute("UPDATE parents SET status=?, updated_at=? WHERE parent_id=?",
                         (status, ts.isoformat(), parent_id))
        self._wrote()

    def set_parent_spec(self, parent_id: str, spec: str, ts: datetime) -> None:
        """A parent whose record grows as it is carried out (a block's children, each with
        its state): written before what it records is sent."""
        self._write_held()
        self._db.execute("UPDATE parents SET spec=?, updated_at=? WHERE parent_id=?",
                         (spec, ts.isoformat(), parent_id))
        self._wrote()

    def parent(self, parent_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM parents WHERE parent_id=?", (parent_id,))
        return rows[0] if rows else None

    def active_parents(self, kind: str) -> list[dict[str, Any]]:
        """The brackets or algorithms not yet finished: what a restart carries on."""
        return self._rows("SELECT * FROM parents WHERE kind=? AND status='active'"
                          " ORDER BY created_at, parent_id", (kind,))
