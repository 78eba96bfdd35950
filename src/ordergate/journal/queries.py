"""`JournalQueries`: the read side of `OrderJournal`, what the views, the report, restart
recovery and a cold start ask of it: orders (one, the open ones, a page of them, a
parent's children), their transitions and fills, adopted positions, and `rows` of a table
the journal does not own. Each read first hands SQLite what the journal holds
(`_write_held`), so it sees every write made before it.

A mixin: the connection and the held writes are `OrderJournal`'s.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ordergate.journal.schema import NOT_TERMINAL

_FILL_COLUMNS = frozenset({"venue", "trade_id", "client_order_id", "account_id", "symbol", "side",
                           "price", "quantity", "fee", "fee_currency", "liquidity", "ts"})


class JournalQueries:
    if TYPE_CHECKING:  # what it uses of `OrderJournal`, declared for mypy
        _db: sqlite3.Connection

        def _write_held(self) -> None: ...

    # ------------------------------------------------------------------ reads

    def is_empty(self) -> bool:
        """No order and no adopted position: this engine has never traded from this journal
        (a first start, or a journal that was lost), so a start is a cold start."""
        self._write_held()
        return (self._db.execute("SELECT 1 FROM orders LIMIT 1").fetchone() is None
                and self._db.execute("SELECT 1 FROM adopted_positions LIMIT 1").fetchone() is None)

    def adopted_positions(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM adopted_positions ORDER BY venue, account_id, symbol")

    def order_status(self, client_order_id: str) -> str | None:
        self._write_held()
        row = self._db.execute(
            "SELECT status FROM orders WHERE client_order_id=?", (client_order_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def client_order_id_of(self, venue: str, venue_order_id: str) -> str | None:
        """Our client order ID for a venue's order ID (a venue that reports open orders
        without the client ID we gave them, like Polymarket)."""
        self._write_held()
        row = self._db.execute(
            "SELECT client_order_id FROM orders WHERE venue=? AND venue_order_id=?",
            (venue, venue_order_id),
        ).fetchone()
        return None if row is None else str(row[0])

    def open_orders(self) -> list[dict[str, Any]]:
        """Orders not yet terminal: the restart recovery's work list."""
        return self._rows(
            f"SELECT * FROM orders WHERE {NOT_TERMINAL} ORDER BY created_at"
        )

    def fills(self, client_order_id: str | None = None) -> list[dict[str, Any]]:
        if client_order_id is None:
            return self._rows("SELECT * FROM fills ORDER BY ts, trade_id")
        return self._rows(
            "SELECT * FROM fills WHERE client_order_id=? ORDER BY ts, trade_id", (client_order_id,)
        )

    def fills_in_order(self) -> list[dict[str, Any]]:
        """Every fill in the order it was recorded."""
        return self._rows("SELECT * FROM fills ORDER BY rowid")

    def iter_fills(self, columns: tuple[str, ...]) -> Iterator[tuple[Any, ...]]:
        """`columns` of every fill, in the order recorded, one row at a time: a
        million-fill replay writes its fills.csv without holding them all."""
        self._write_held()
        unknown = set(columns) - _FILL_COLUMNS
        if unknown:
            raise ValueError(f"no such fill column(s): {sorted(unknown)}")
        yield from self._db.execute(f"SELECT {', '.join(columns)} FROM fills ORDER BY rowid")

    def transitions(self, client_order_id: str) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT * FROM transitions WHERE client_order_id=? ORDER BY seq", (client_order_id,)
        )

    def order(self, client_order_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM orders WHERE client_order_id=?", (client_order_id,))
        return rows[0] if rows else None

    def client_order_id_for_venue_id(self, venue_order_id: str) -> str | None:
        """Our client order ID for a venue's order ID at any venue (the first journaled)."""
        self._write_held()
        row = self._db.execute("SELECT client_order_id FROM orders WHERE venue_order_id=?"
                               " ORDER BY rowid LIMIT 1", (venue_order_id,)).fetchone()
        return None if row is None else str(row[0])

    def list_orders(self, *, open_only: bool = False, status: str | None = None,
                    symbol: str | None = None, account_id: str | None = None,
                    before: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Orders newest first, each with its `rowid` (a page ends at the smallest one; the
        next page asks for `before` it). Filters are bound parameters, never SQL text."""
        where: list[str] = []
        params: list[Any] = []
        if open_only:
            where.append(NOT_TERMINAL)
        for column, value in (("status", status), ("symbol", symbol), ("account_id", account_id)):
            if value is not None:
                where.append(f"{column}=?")
                params.append(value)
        if before is not None:
            where.append("rowid<?")
            params.append(before)
        sql = "SELECT rowid, * FROM orders" + (" WHERE " + " AND ".join(where) if where else "")
        return self._rows(sql + " ORDER BY rowid DESC LIMIT ?", (*params, limit))

    def children(self, parent_id: str) -> list[dict[str, Any]]:
        """The orders derived from `parent_id` (v8), oldest first."""
        return self._rows("SELECT * FROM orders WHERE parent_id=? ORDER BY rowid", (parent_id,))

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return self._rows(sql, params)

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        self._write_held()
        cursor = self._db.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
