"""`OrderJournal`: orders, transitions and fills in SQLite (WAL).

Write-before-send: the executor inserts the order and calls the ledger's
`commit_before_send()`, which, in durable mode, commits (`commit_for_sync`) and fsyncs
the WAL before the request leaves (`journal/barrier.py`); the decision's audit lines are
in that commit (`audit_rows.py`), so one fsync makes both durable.

Durable mode fsyncs at barriers, not at every commit (`synchronous=NORMAL`, and an fsync
of the WAL file where a commit must survive a power loss): before a send, and under an
answer the HTTP API is about to give (held by `store_idempotent_answer` for the next
barrier, often the next send's: `journal/wal_sync.py`). The commit that ends a decision
(the venue's answer, fills, transitions) is written to the WAL without an fsync:
it survives the process being killed (the OS has it), is made durable by the next
barrier (fsync is per file, and the WAL is appended to in order), and if a power loss
takes it first, restart recovery asks the venue about every order the journal still has
open and applies what it finds, as after a kill between a send and its answer. That
saves one fsync of the three or four a live decision cost.

A durable journal's WAL is checkpointed ahead by a thread of its own
(`journal/checkpointer.py`), so its commits do not stop for SQLite's copy of the pages.
A new durable journal has smaller pages than SQLite's 4 KiB (`DURABLE_PAGE_SIZE`): a
commit writes every page it changed to the WAL whole, and a decision's commit changes a
page or two in each of its fourteen B-trees, so the barrier's fsync has less to write.

In replay mode writes are batched: committed every `batch_size` statements and on close,
which is what keeps a million-signal backtest fast.

Writes are held in memory and go to SQLite with `executemany` when the journal commits
(or before any read): one statement per table per commit, not one per row, and an order
inserted and moved along in the same commit is inserted as it stands, with no UPDATE. A
duplicate order or fill is still refused at once (a lookup of its key), so callers see
no difference; only what `commit()` has written survives a kill, as before.

A journal it cannot read (corrupt, or written by a newer ordergate) is never touched:
opening raises `JournalUnreadable`.

Here: opening (the schema checked and migrated), the write side and its commits, which
the per-order path calls (`insert_order`, `record_transition`, `record_fill`, `commit`).
Mixed in from modules of their own, their names re-exported here: the read side
(`JournalQueries`, `queries.py`), the parents (`JournalParents`, `parents.py`), the
HTTP API's idempotency keys (`IdempotencyKeys`, `idempotency_keys.py`) and the audit log's
unsynced text (`JournalAuditRows`, `audit_rows.py`).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordergate.clock import isoformat
from ordergate.domain.fill import Fill
from ordergate.domain.order import Order, OrderStatus, OrderTransition
from ordergate.domain.values import Liquidity, OrderRole, OrderType, Side, TimeInForce
from ordergate.journal.audit_rows import JournalAuditRows
from ordergate.journal.checkpointer import Checkpointer
from ordergate.journal.idempotency_keys import IdempotencyKeys, _sortable
from ordergate.journal.parents import JournalParents
from ordergate.journal.queries import _FILL_COLUMNS, JournalQueries
from ordergate.journal.schema import LOOKUP_INDEXES, MIGRATIONS, SCHEMA_VERSION
from ordergate.journal.sqlite_binding import bind_none_as_null
from ordergate.journal.wal_sync import WalSync

__all__ = [
    "IdempotencyKeys", "JournalAuditRows", "JournalParents", "JournalQueries", "JournalUnreadable",
    "OrderJournal", "_FILL_COLUMNS", "_ORDER_PLACEHOLDERS", "_opt", "_opt_ts", "_sortable",
]


_ORDER_PLACEHOLDERS = ",".join("?" * 24)
class _Text(dict[Any, Any]):
    """Each member of the vocabularies an order row holds, as the exact `str` SQLite
    stores; anything else (a plain string a venue gave) as it is."""

    def __missing__(self, key: Any) -> Any:
        return key


_TEXT = _Text({member: member.value for kind in (
    OrderStatus, Side, OrderType, TimeInForce, OrderRole, Liquidity) for member in kind})
WAL_AUTOCHECKPOINT_PAGES = 10_000
"""A live journal's WAL is checkpointed by its writer once past this many pages (SQLite's
default: 1,000); the checkpointer thread copies pages ahead in between."""
DURABLE_PAGE_SIZE = 1024
"""The page size of a durable journal made new (SQLite's default, kept by a replay's, is
4,096; a file keeps the size it was made with). Why: a commit writes each page it changed
to the WAL whole, and a live decision's barrier commit changes about 18 pages, one or two
in each of the tables and indexes its order, transitions, fill, audit lines and stored
answer go to (counted from the WAL's frame headers under `bench.api_load`): 74 KiB for the
barrier's fsync to write at 4 KiB a page; at 1 KiB, 26 pages (deeper trees, answers past
a page spilling onto a second), 27 KiB. Measured on the development machine, 4,096 /
2,048 / 1,024 alternated three times, medians: the fsync before a send (`bench.live_path`,
3,000 signals) p50 269 / 258 / 226 µs, p99 617 / 490 / 451 µs; under `bench.api_load`
p50 251 / 253 / 218 µs, p99 588 / 611 / 447 µs. The throughput moved less than it varies
from run to run, and so did the processes' system CPU time (GNU time, five runs each).
512 was tried once and did no better than 1,024."""


class JournalUnreadable(RuntimeError):
    pass

class OrderJournal(JournalQueries, JournalParents, IdempotencyKeys, JournalAuditRows):
    def __init__(self, path: Path | str, *, durable: bool = True, batch_size: int = 2000,
                 deferred_indexes: bool = False) -> None:
        self.path = Path(path)
        self.durable = durable
        self._deferred_indexes = deferred_indexes
        # A backtest's journal: the per-order lookup indexes (schema v5) are dropped at
        # open and built at close, one sort each, instead of kept up to date on every
        # insert (10% of a market-order replay's time). Nothing in a replay looks an order
        # up by them; what reads the journal afterwards (the report, a restart) has them.
        self.on_commit: Callable[[float], None] | None = None
        """Told each commit's wall-clock seconds (the engine's metrics)."""
        self.on_fsync: Callable[[float], None] | None = None
        """Told the wall-clock seconds of each fsync that makes commits durable (the
        engine's metrics): the disk's own part of a barrier, apart from the commit's."""
        self._batch_size = batch_size
        self._pending = 0
        # Held until the next write to SQLite (`_write_held`): by client order ID, so a
        # transition of an order not yet written changes its row in place.
        self._new_orders: dict[str, list[Any]] = {}
        self._order_updates: dict[str, tuple[Any, ...]] = {}
        self._transitions: list[tuple[Any, ...]] = []
        self._fills: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        self._wal: tuple[int, int] | None = None  # (fd, inode) of the WAL file fsync'ed last
        self.wal_sync = WalSync(self._fsync_wal, self.commit)
        """Commits counted, and which are on disk: a stored answer waits for the fsync that
        covers its commit (`journal/wal_sync.py`)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)  # as the audit log's
        bind_none_as_null()  # a market order's row has four (`journal/sqlite_binding.py`)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self._check_readable()  # before any write: a file we refuse stays untouched
            if durable:  # takes effect only in a file with no pages yet
                self._db.execute(f"PRAGMA page_size={DURABLE_PAGE_SIZE}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'NORMAL' if durable else 'OFF'}")
            if durable:  # the writer's own checkpoint ten times rarer (checkpointer.py)
                self._db.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
            self._migrate()
            if deferred_indexes:
                for name in LOOKUP_INDEXES:
                    self._db.execute(f"DROP INDEX IF EXISTS {name}")
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise JournalUnreadable(f"{self.path}: cannot read the order journal: {exc}") from None
        except JournalUnreadable:
            self._db.close()
            raise
        self._db.execute("BEGIN")
        # Live journals commit on the event loop's thread: SQLite's checkpoints copied
        # ahead by a thread of their own (`journal/checkpointer.py`).
        self._checkpointer = Checkpointer(self.path) if durable else None

    # ------------------------------------------------------------------ schema

    def _check_readable(self) -> int:
        """The journal's schema version (0 for a new file); refuses anything else."""
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = 0
        if "meta" in tables:
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else 0
        elif tables:
            raise JournalUnreadable(f"{self.path}: not an ordergate journal (tables {sorted(tables)})")
        if version > SCHEMA_VERSION:
            raise JournalUnreadable(
                f"{self.path}: journal schema v{version} is newer than this ordergate (v{SCHEMA_VERSION}); "
                "upgrade ordergate, do not overwrite the journal"
            )
        return version

    def _migrate(self) -> None:
        version = self._check_readable()
        for step in range(version + 1, SCHEMA_VERSION + 1):
            self._db.execute("BEGIN IMMEDIATE")
            for statement in filter(str.strip, MIGRATIONS[step].split(";")):
                self._db.execute(statement)
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(step),)
            )
            self._db.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0])

    # ------------------------------------------------------------------ writes

    # Enum members go in as their plain text (`_TEXT`, one dict lookup): the sqlite3
    # module binds only an exact `str` directly; a `str` subclass (a StrEnum member) goes
    # through its adapter protocol first (a tuple built, a registry miss, two attribute
    # lookups), 3.7% of a market order's instructions in a replay (callgrind), and
    # `.value` is a Python-level descriptor call.

    def insert_order(self, order: Order) -> bool:
        """Record a new order intent. False if this client order ID is already journaled."""
        cid = order.client_order_id
        if cid in self._new_orders or self._db.execute(
                "SELECT 1 FROM orders WHERE client_order_id=?", (cid,)).fetchone() is not None:
            return False
        created = isoformat(order.created_at)
        self._new_orders[cid] = [
            cid, order.signal_id, order.strategy_id, order.account_id,
            order.venue, order.symbol, _TEXT[order.side], _TEXT[order.order_type],
            str(order.quantity), _opt(order.price), _TEXT[order.time_in_force],
            _opt(order.expected_price), _opt_ts(order.expires_at),
            created, _TEXT[order.status], order.venue_order_id,
            str(order.filled_quantity), created, int(order.post_only),
            _opt(order.trigger_price), order.parent_id, _TEXT[order.role], order.leg,
            int(order.reduce_only),
        ]
        self._wrote()
        return True

    def record_transition(self, order: Order, step: OrderTransition) -> None:
        cid, ts = order.client_order_id, isoformat(step.ts)
        self._transitions.append((cid, _TEXT[step.from_status], _TEXT[step.to_status], ts,
                                  step.reason))
        state = (_TEXT[order.status], order.venue_order_id, str(order.filled_quantity), ts)
        row = self._new_orders.get(cid)
        if row is not None:
            row[14], row[15], row[16], row[17] = state
        else:
            self._order_updates[cid] = state
        self._wrote(2)

    def record_fill(self, fill: Fill) -> bool:
        """Store a fill; False if it was already stored (a duplicate): a fill is one venue
        trade, named by (venue, symbol, trade ID), since venues like Binance number trades
        per symbol (schema v3)."""
        key = (fill.venue, fill.symbol, fill.trade_id)
        if key in self._fills or self._db.execute(
                "SELECT 1 FROM fills WHERE venue=? AND symbol=? AND trade_id=?",
                key).fetchone() is not None:
            return False
        self._fills[key] = (
            fill.venue, fill.trade_id, fill.client_order_id, fill.account_id, fill.symbol,
            _TEXT[fill.side], str(fill.price), str(fill.quantity), str(fill.fee),
            fill.fee_currency, _TEXT[fill.liquidity], isoformat(fill.ts),
        )
        self._wrote()
        return True

    def _write_held(self) -> None:
        """Hand SQLite what is held, one statement per table; before a commit or a read."""
        db = self._db
        if self._new_orders:
            db.executemany(f"INSERT INTO orders VALUES ({_ORDER_PLACEHOLDERS})",
                           self._new_orders.values())
            self._new_orders = {}
        if self._order_updates:
            db.executemany(
                "UPDATE orders SET status=?, venue_order_id=?, filled_quantity=?, updated_at=?"
                " WHERE client_order_id=?",
                [(*state, cid) for cid, state in self._order_updates.items()])
            self._order_updates = {}
        if self._transitions:
            db.executemany("INSERT INTO transitions (client_order_id, from_status, to_status,"
                           " ts, reason) VALUES (?,?,?,?,?)", self._transitions)
            self._transitions = []
        if self._fills:
            db.executemany("INSERT INTO fills VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                           self._fills.values())
            self._fills = {}

    def record_adopted_position(self, venue: str, account_id: str, symbol: str,
                                quantity: Decimal, mark: Decimal, ts: datetime) -> None:
        """Cold start: a holding taken over from the venue (schema v2)."""
        self._write_held()
        self._db.execute(
            "INSERT OR REPLACE INTO adopted_positions VALUES (?,?,?,?,?,?)",
            (venue, account_id, symbol, str(quantity), str(mark), ts.isoformat()),
        )
        self._wrote()

    def mark_resent(self, client_order_id: str, ts: datetime) -> None:
        """A resend with no status change (restart recovery's `resubmit`): `updated_at`
        dates the last possible send, which the next recovery's wait is counted from."""
        self._write_held()
        self._db.execute("UPDATE orders SET updated_at=? WHERE client_order_id=?",
                         (ts.isoformat(), client_order_id))
        self._wrote()

    def commit_if_durable(self) -> None:
        """After a decision: in durable mode every venue answer and fill is committed as it
        arrives (per decision), without an fsync (the next barrier makes it durable, see
        the module's docstring); batch mode leaves it to the batch. A decision whose end
        is deferred (`Engine.decision_end_deferred`) is committed by the next barrier."""
        if self.durable and self._pending:
            self.commit(sync=False)

    def commit(self, *, sync: bool = True) -> None:
        """Commit what is held; in durable mode also fsync the WAL, unless `sync` is False."""
        began = time.perf_counter()
        self._commit_unsynced()
        if sync and self.durable:
            self.wal_sync.sync_now()
        if self.on_commit is not None:
            self.on_commit(time.perf_counter() - began)

    def commit_for_sync(self) -> int | None:
        """Commit what is held, without an fsync, and return the WAL's descriptor for the
        caller to fsync (`journal/barrier.py`) before relying on it, and then to report to
        `wal_sync`; None in batch mode, or with no WAL file (nothing waits in one)."""
        self._commit_unsynced()
        return self.wal_fd() if self.durable else None

    def _commit_unsynced(self) -> None:
        self._write_held()
        self._db.execute("COMMIT")
        self._db.execute("BEGIN")
        self.wal_sync.committed += 1
        self._pending = 0
        if self._checkpointer is not None:
            self._checkpointer.committed()

    def _fsync_wal(self) -> None:
        if (fd := self.wal_fd()) is not None:
            began = time.perf_counter()
            os.fsync(fd)
            if self.on_fsync is not None:
                self.on_fsync(time.perf_counter() - began)

    def wal_fd(self) -> int | None:
        """A descriptor of the WAL file: fsync'ed, every commit written to it so far
        survives a power loss, as `synchronous=FULL` would make each. It stays open until
        the WAL is replaced or the journal closes."""
        wal = f"{self.path}-wal"
        try:
            inode = os.stat(wal).st_ino
        except FileNotFoundError:
            return None  # no WAL file: every commit is in the database file already
        if self._wal is None or self._wal[1] != inode:
            if self._wal is not None:
                os.close(self._wal[0])
            self._wal = (os.open(wal, os.O_RDONLY), inode)
        return self._wal[0]

    def _wrote(self, statements: int = 1) -> None:
        self._pending += statements
        if self._pending >= self._batch_size:
            self.commit()

    def writable(self) -> bool:
        """The journal file and its directory can still be written (a health check: it
        does not write, so it cannot disturb the open transaction)."""
        try:
            self._db.execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK)

    def write(self, sql: str, params: tuple[Any, ...]) -> None:
        """One statement of a table this class does not own (`journal/account_days.py`),
        in the same batch and commit as the orders."""
        self._write_held()
        self._db.execute(sql, params)
        self._wrote()

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self._write_held()
        if self._deferred_indexes:
            for name, on in LOOKUP_INDEXES.items():
                self._db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")
        self._db.execute("COMMIT")
        self._db.close()  # the last connection: SQLite checkpoints the WAL, with its fsyncs
        if self._wal is not None:
            os.close(self._wal[0])
            self._wal = None


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _opt_ts(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
