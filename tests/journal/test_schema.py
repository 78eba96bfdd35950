"""Spec: the schema is versioned and every version has its migration."""

import sqlite3

import pytest

from ordergate.journal.schema import MIGRATIONS, SCHEMA_VERSION


def test_every_version_up_to_the_current_has_a_migration():
    assert SCHEMA_VERSION >= 1
    assert sorted(MIGRATIONS) == list(range(1, SCHEMA_VERSION + 1))


def _apply_all():
    db = sqlite3.connect(":memory:")
    for step in range(1, SCHEMA_VERSION + 1):
        db.executescript(MIGRATIONS[step])
    return db


def test_migrations_build_the_journal_tables():
    db = _apply_all()
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"meta", "orders", "transitions", "fills"} <= tables


def test_fill_key_is_venue_symbol_and_trade_id():
    # Binance numbers trades per symbol: the same trade ID on two symbols is two fills.
    db = _apply_all()
    row = ("sim", "t1", "c1", "main", "BTC/USDT", "buy", "1", "1", "0", "USDT", "taker", "ts")
    db.execute("INSERT INTO fills VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", row)
    db.execute("INSERT INTO fills VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", ("other",) + row[1:])
    other_symbol = row[:4] + ("ETH/USDT",) + row[5:]
    db.execute("INSERT INTO fills VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", other_symbol)
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO fills VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", row)
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO fills VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", other_symbol)
    assert db.execute("SELECT count(*) FROM fills").fetchone()[0] == 3


# ---------------------------------------------------------------- orders_open (v11)


def test_the_terminal_statuses_the_index_leaves_out_are_the_orders_terminal_statuses():
    from ordergate.domain.order import TERMINAL
    from ordergate.journal.schema import TERMINAL_STATUSES

    assert set(TERMINAL_STATUSES) == {status.value for status in TERMINAL}


def test_writing_an_order_builds_no_temporary_table_for_the_open_orders_index():
    """An IN list of more than two values in a partial index's condition is a b-tree
    SQLite builds for every row written (OpenEphemeral); v11's condition has none."""
    db = _apply_all()
    for sql in ("INSERT INTO orders VALUES (" + ",".join("?" * 24) + ")",
                "UPDATE orders SET status=?, venue_order_id=?, filled_quantity=?, updated_at=?"
                " WHERE client_order_id=?"):
        opcodes = [row[1] for row in db.execute("EXPLAIN " + sql, [None] * sql.count("?"))]
        assert "OpenEphemeral" not in opcodes, sql


def test_before_v11_the_open_orders_index_built_a_temporary_table_for_every_row():
    """What v11 removes (so the test above can fail): v10's index on a v10 schema."""
    db = sqlite3.connect(":memory:")
    for step in range(1, 11):
        db.executescript(MIGRATIONS[step])
    sql = "INSERT INTO orders VALUES (" + ",".join("?" * 24) + ")"
    assert "OpenEphemeral" in [row[1] for row in db.execute("EXPLAIN " + sql, [None] * 24)]


def test_the_restart_recoverys_query_for_open_orders_still_uses_the_open_orders_index(tmp_path):
    """The planner uses a partial index only for a query whose WHERE holds each of the
    index's terms: the query the journal runs is planned here as SQLite plans it."""
    from ordergate.journal.order_journal import OrderJournal

    journal = OrderJournal(tmp_path / "journal.sqlite")
    try:
        ran: list[str] = []
        journal._db.set_trace_callback(ran.append)
        assert journal.open_orders() == []
        journal._db.set_trace_callback(None)
        (sql,) = [statement for statement in ran if statement.startswith("SELECT")]
        plan = " ".join(str(row[3]) for row in journal._db.execute("EXPLAIN QUERY PLAN " + sql))
    finally:
        journal.close()
    assert "USING INDEX orders_open" in plan, (sql, plan)
