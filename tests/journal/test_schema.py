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


def test_fill_key_is_venue_and_trade_id():
    db = _apply_all()
    row = ("sim", "t1", "c1", "main", "X", "buy", "1", "1", "0", "USDT", "taker", "ts")
    db.execute("INSERT INTO fills VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", row)
    db.execute("INSERT INTO fills VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", ("other",) + row[1:])
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO fills VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", row)
    assert db.execute("SELECT count(*) FROM fills").fetchone()[0] == 2
