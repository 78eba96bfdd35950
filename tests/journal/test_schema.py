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
