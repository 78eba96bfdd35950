"""Spec: the order journal writes before send, dedupes, survives restarts and never
touches a file it cannot read."""

import gc
import os
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordergate.domain.fill import Fill
from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.values import Liquidity, OrderType, Side, TimeInForce
from ordergate.journal.order_journal import (
    DURABLE_PAGE_SIZE,
    JournalUnreadable,
    OrderJournal,
    _sortable,
)
from ordergate.journal.schema import SCHEMA_VERSION

S = OrderStatus
T0 = datetime(2026, 1, 2, tzinfo=UTC)


def _order(cid="c-1", created=T0, **kw):
    fields = {
        "client_order_id": cid, "signal_id": f"sig-{cid}", "strategy_id": "st",
        "account_id": "main",
        "venue": "sim", "symbol": "BTC/USDT", "side": Side.BUY, "order_type": OrderType.LIMIT,
        "quantity": Decimal("0.5"), "price": Decimal("100.25"), "time_in_force": TimeInForce.GTD,
        "created_at": created, "expected_price": Decimal("100.3"),
        "expires_at": created + timedelta(hours=1),
    }
    fields.update(kw)
    return Order(**fields)


def _fill(trade_id="t-1", venue="sim", cid="c-1", ts=T0, symbol="BTC/USDT"):
    return Fill(cid, trade_id, "main", venue, symbol, Side.BUY, Decimal("100.25"),
                Decimal("0.2"), Decimal("0.01"), "USDT", Liquidity.MAKER, ts)


def _count(path, table):
    """Rows a second, independent connection can see (i.e. committed rows)."""
    other = sqlite3.connect(path)
    try:
        return other.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        other.close()


@pytest.fixture
def path(tmp_path):
    return tmp_path / "journal.sqlite"


@pytest.fixture
def journal(path):
    journal = OrderJournal(path)
    yield journal
    try:
        journal.close()
    except sqlite3.ProgrammingError:
        pass  # the test closed it


def _closed_bytes(path):
    gc.collect()  # drop any connection the failed open left behind
    return path.read_bytes()


# ---------------------------------------------------------------- unreadable files


@pytest.mark.parametrize("garbage", [b"hello", b"\x00garbage!" * 500, bytes(range(256)) * 20])
def test_file_that_is_not_sqlite_is_refused_and_left_byte_for_byte_unchanged(path, garbage):
    path.write_bytes(garbage)
    with pytest.raises(JournalUnreadable, match="cannot read"):
        OrderJournal(path)
    assert _closed_bytes(path) == garbage


def _bump_schema_version(path, version):
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(version),))
    db.commit()
    db.close()


def test_journal_from_a_newer_ordergate_is_refused_and_left_unchanged(path):
    journal = OrderJournal(path)
    journal.insert_order(_order())
    journal.close()
    _bump_schema_version(path, SCHEMA_VERSION + 1)
    before = path.read_bytes()
    with pytest.raises(JournalUnreadable, match="newer") as info:
        OrderJournal(path)
    assert f"v{SCHEMA_VERSION + 1}" in str(info.value)
    assert _closed_bytes(path) == before
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta").fetchone()[0] == str(SCHEMA_VERSION + 1)
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 1
    db.close()


def _foreign_db(path):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE trades (id INTEGER PRIMARY KEY, px TEXT)")
    db.execute("INSERT INTO trades (px) VALUES ('1')")
    db.commit()
    db.close()


def test_sqlite_database_with_foreign_tables_is_refused(path):
    _foreign_db(path)
    with pytest.raises(JournalUnreadable, match="not an ordergate journal") as info:
        OrderJournal(path)
    assert "trades" in str(info.value)
    gc.collect()
    db = sqlite3.connect(path)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    db.close()
    assert tables == {"trades"}


def test_sqlite_database_with_foreign_tables_is_left_byte_for_byte_unchanged(path):
    _foreign_db(path)
    before = path.read_bytes()
    with pytest.raises(JournalUnreadable):
        OrderJournal(path)
    assert _closed_bytes(path) == before


# ---------------------------------------------------------------- idempotent writes


def test_second_insert_of_the_same_client_order_id_is_refused_and_keeps_the_first(journal):
    assert journal.insert_order(_order()) is True
    assert journal.insert_order(_order(quantity=Decimal(9), status=S.FILLED)) is False
    assert journal.order_status("c-1") == "PENDING"
    assert len(journal.open_orders()) == 1
    assert journal.open_orders()[0]["quantity"] == "0.5"


def test_fill_with_a_known_venue_trade_id_is_stored_once(journal):
    journal.insert_order(_order())
    assert journal.record_fill(_fill("t-1")) is True
    assert journal.record_fill(_fill("t-1")) is False
    assert journal.record_fill(_fill("t-1", ts=T0 + timedelta(seconds=5))) is False
    assert len(journal.fills("c-1")) == 1


def test_same_trade_id_at_another_venue_is_a_different_fill(journal):
    journal.insert_order(_order())
    assert journal.record_fill(_fill("t-1", venue="sim")) is True
    assert journal.record_fill(_fill("t-1", venue="binance")) is True
    assert len(journal.fills()) == 2


def test_two_symbols_with_the_same_trade_id_are_two_fills(journal):
    # Binance numbers trades per symbol: BTCUSDT's trade 7 and ETHUSDT's trade 7 both count.
    journal.insert_order(_order())
    journal.insert_order(_order("c-2", symbol="ETH/USDT"))
    assert journal.record_fill(_fill("7", venue="binance")) is True
    assert journal.record_fill(_fill("7", venue="binance", cid="c-2", symbol="ETH/USDT")) is True
    assert journal.record_fill(_fill("7", venue="binance", cid="c-2", symbol="ETH/USDT")) is False
    assert [(f["symbol"], f["trade_id"]) for f in journal.fills_in_order()] == [
        ("BTC/USDT", "7"), ("ETH/USDT", "7")]


def test_unknown_order_status_is_none(journal):
    assert journal.order_status("nope") is None


# ---------------------------------------------------------------- contents


def test_order_row_keeps_decimals_and_timestamps_as_exact_text(journal):
    journal.insert_order(_order())
    (row,) = journal.open_orders()
    assert row["client_order_id"] == "c-1"
    assert row["price"] == "100.25" and row["expected_price"] == "100.3"
    assert row["side"] == "buy" and row["order_type"] == "limit"
    assert row["time_in_force"] == "GTD"
    assert row["expires_at"] == (T0 + timedelta(hours=1)).isoformat()
    assert row["status"] == "PENDING"
    assert row["filled_quantity"] == "0"


def test_market_order_without_price_stores_null(journal):
    journal.insert_order(_order(order_type=OrderType.MARKET, price=None, expected_price=None,
                                expires_at=None, time_in_force=TimeInForce.IOC))
    (row,) = journal.open_orders()
    assert row["price"] is None and row["expected_price"] is None and row["expires_at"] is None


def test_transitions_are_recorded_in_order_and_update_the_order(journal):
    order = _order()
    journal.insert_order(order)
    plan = [(S.SUBMITTED, "sent"), (S.ACCEPTED, "ack"), (S.PARTIALLY_FILLED, "fill"),
            (S.FILLED, "fill")]
    for i, (status, reason) in enumerate(plan):
        if status in (S.PARTIALLY_FILLED, S.FILLED):
            order.add_execution(Decimal("100.25"), Decimal("0.25"), Decimal(0))
        order.venue_order_id = "v-9"
        step = order.transition(status, T0 + timedelta(seconds=i), reason)
        journal.record_transition(order, step)
    rows = journal.transitions("c-1")
    assert [(r["from_status"], r["to_status"]) for r in rows] == [
        ("PENDING", "SUBMITTED"), ("SUBMITTED", "ACCEPTED"),
        ("ACCEPTED", "PARTIALLY_FILLED"), ("PARTIALLY_FILLED", "FILLED")]
    assert [r["reason"] for r in rows] == ["sent", "ack", "fill", "fill"]
    assert [r["ts"] for r in rows] == [(T0 + timedelta(seconds=i)).isoformat() for i in range(4)]
    assert journal.order_status("c-1") == "FILLED"
    assert journal.open_orders() == []


def test_open_orders_returns_only_non_terminal_orders_oldest_first(journal):
    non_terminal = [S.PENDING, S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED, S.CANCEL_PENDING]
    terminal = [S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED, S.FAILED]
    for i, status in enumerate(reversed(non_terminal + terminal)):
        journal.insert_order(_order(cid=str(status), status=status,
                                    created=T0 + timedelta(seconds=i)))
    open_ids = [r["client_order_id"] for r in journal.open_orders()]
    assert open_ids == [str(s) for s in reversed(non_terminal)]


def test_fills_are_listed_per_order_and_in_recording_order(journal):
    journal.insert_order(_order("a"))
    journal.insert_order(_order("b"))
    journal.record_fill(_fill("t-3", cid="a", ts=T0 + timedelta(seconds=2)))
    journal.record_fill(_fill("t-1", cid="b", ts=T0 + timedelta(seconds=1)))
    journal.record_fill(_fill("t-2", cid="a", ts=T0 + timedelta(seconds=1)))
    assert [f["trade_id"] for f in journal.fills("a")] == ["t-2", "t-3"]
    assert [f["trade_id"] for f in journal.fills()] == ["t-1", "t-2", "t-3"]
    assert [f["trade_id"] for f in journal.fills_in_order()] == ["t-3", "t-1", "t-2"]
    assert journal.fills("a")[0]["price"] == "100.25"
    assert journal.fills("a")[0]["liquidity"] == "maker"


# ---------------------------------------------------------------- durability


def test_durable_mode_commits_for_a_barrier_and_hands_over_the_wal_to_fsync(path, journal):
    assert journal.durable
    journal.insert_order(_order())
    assert _count(path, "orders") == 0  # not yet visible to anyone else
    fd = journal.commit_for_sync()
    assert _count(path, "orders") == 1
    assert os.readlink(f"/proc/self/fd/{fd}") == f"{path}-wal"


def test_durable_journal_uses_wal_and_fsyncs_it_at_barriers_only(journal, monkeypatch):
    """A commit is fsync'ed; the commit that ends a decision is not (the next barrier
    covers it; a power loss before that is recovered from the venue); a barrier's commit
    hands the WAL to its caller (the ledger before a send); the HTTP API's stored answer
    is held for the next barrier, its caller waiting for that on disk (`wal_sync`)."""
    assert journal._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    synced: list[str] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.readlink(
        f"/proc/self/fd/{fd}")), real_fsync(fd))[1])
    journal.insert_order(_order())
    journal.commit()  # a commit of its own (a recovery's adoption): synced at once
    assert synced == [f"{journal.path}-wal"]
    journal.record_fill(_fill())
    journal.commit_if_durable()  # the end of a decision: not
    assert len(synced) == 1
    commit = journal.store_idempotent_answer("orders", "bot", "k-1", "f", 201, "{}", T0)
    assert commit == journal.wal_sync.committed + 1  # held for the next barrier, which
    assert _count(journal.path, "idempotency_keys") == 0 and len(synced) == 1  # the caller waits for


def test_batch_mode_reports_no_fsync(path):
    journal = OrderJournal(path, durable=False, batch_size=1)
    timed: list[float] = []
    journal.on_fsync = timed.append
    journal.insert_order(_order())
    journal.commit()
    journal.close()
    assert timed == []


def test_each_fsync_of_a_commit_of_its_own_is_timed_and_an_unsynced_commit_is_not(journal):
    """`on_fsync` (the metrics' `ordergate_journal_fsync_seconds`) is told the disk's part
    alone: once for a commit that fsyncs, never for the commit that ends a decision."""
    timed: list[float] = []
    commits: list[float] = []
    journal.on_fsync, journal.on_commit = timed.append, commits.append
    journal.insert_order(_order())
    journal.commit()
    assert len(timed) == 1 and len(commits) == 1 and 0 < timed[0] <= commits[0]
    journal.record_fill(_fill())
    journal.commit_if_durable()
    assert len(timed) == 1 and len(commits) == 2


def test_batch_mode_has_nothing_to_fsync(path):
    journal = OrderJournal(path, durable=False, batch_size=100)
    journal.insert_order(_order())
    assert journal.commit_for_sync() is None
    journal.close()
    assert _count(path, "orders") == 1


def test_batch_mode_commits_every_batch_size_statements(path):
    journal = OrderJournal(path, durable=False, batch_size=3)
    journal.insert_order(_order("a"))
    journal.insert_order(_order("b"))
    assert _count(path, "orders") == 0
    journal.insert_order(_order("c"))
    assert _count(path, "orders") == 3
    journal.insert_order(_order("d"))
    assert _count(path, "orders") == 3
    order = _order("d")
    journal.record_transition(order, order.transition(S.SUBMITTED, T0, "sent"))  # 2 statements
    assert _count(path, "orders") == 4
    assert _count(path, "transitions") == 1
    journal.close()


def test_batch_mode_commits_remaining_writes_on_close(path):
    journal = OrderJournal(path, durable=False, batch_size=1000)
    journal.insert_order(_order())
    journal.record_fill(_fill())
    assert _count(path, "fills") == 0
    journal.close()
    assert _count(path, "orders") == 1
    assert _count(path, "fills") == 1


def test_reopening_keeps_data_and_schema_version(path):
    journal = OrderJournal(path)
    assert journal.schema_version == SCHEMA_VERSION
    order = _order()
    journal.insert_order(order)
    journal.record_transition(order, order.transition(S.SUBMITTED, T0, "sent"))
    journal.record_fill(_fill())
    journal.close()

    reopened = OrderJournal(path)
    try:
        assert reopened.schema_version == SCHEMA_VERSION
        assert reopened.order_status("c-1") == "SUBMITTED"
        assert [r["to_status"] for r in reopened.transitions("c-1")] == ["SUBMITTED"]
        assert reopened.record_fill(_fill()) is False
        assert reopened.insert_order(_order()) is False
    finally:
        reopened.close()


def _page_size(path):
    other = sqlite3.connect(path)
    try:
        return other.execute("PRAGMA page_size").fetchone()[0]
    finally:
        other.close()


def test_a_journal_made_with_sqlites_pages_keeps_them_and_its_rows_when_opened_durable(path):
    """A live journal from before smaller pages (or a replay's, reopened live): SQLite
    fixes a file's page size when it is made, and the journal must neither fail on it nor
    lose a row."""
    made = OrderJournal(path, durable=False)
    made.insert_order(_order())
    made.record_fill(_fill())
    made.close()
    assert _page_size(path) == 4096

    live = OrderJournal(path)
    try:
        assert live.order_status("c-1") == "PENDING"
        assert live.record_fill(_fill()) is False
        live.insert_order(_order("c-2"))
        live.commit()
    finally:
        live.close()
    assert _page_size(path) == 4096
    assert _count(path, "orders") == 2


def test_a_new_durable_journal_has_smaller_pages_and_a_replays_has_sqlites(tmp_path):
    """Every page a commit changed goes to the WAL whole, and the barrier's fsync writes
    them all: a live journal's pages are smaller; a replay's are SQLite's, since it never
    fsyncs and bigger pages mean shallower trees."""
    live, replay = tmp_path / "live.sqlite", tmp_path / "replay.sqlite"
    OrderJournal(live).close()
    OrderJournal(replay, durable=False).close()
    assert DURABLE_PAGE_SIZE < 4096
    assert _page_size(live) == DURABLE_PAGE_SIZE
    assert _page_size(replay) == 4096


def test_empty_existing_file_becomes_a_new_journal(path):
    path.write_bytes(b"")
    journal = OrderJournal(path)
    try:
        assert journal.schema_version == SCHEMA_VERSION
        assert journal.open_orders() == []
    finally:
        journal.close()


def test_a_v1_journal_is_migrated_in_place_keeping_its_orders_and_fills(path):
    from ordergate.journal.schema import MIGRATIONS

    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[1])
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.execute("INSERT INTO fills VALUES ('sim','t1','c-1','main','BTC/USDT','buy','1','2','0',"
               "'USDT','taker','2026-01-02T00:00:00+00:00')")
    db.commit()
    db.close()
    journal = OrderJournal(path)
    try:
        assert journal.schema_version == SCHEMA_VERSION
        assert [f["trade_id"] for f in journal.fills()] == ["t1"]
        assert journal.adopted_positions() == []
    finally:
        journal.close()


def _v2_journal_with_data(path):
    """A journal as ordergate wrote it at schema v2: orders, transitions, fills recorded out
    of timestamp order (positions are rebuilt in recording order), an adopted position."""
    from ordergate.journal.schema import MIGRATIONS

    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[1] + ";" + MIGRATIONS[2])
    db.execute("INSERT INTO meta VALUES ('schema_version', '2')")
    for cid, symbol in (("c-1", "BTC/USDT"), ("c-2", "ETH/USDT")):
        db.execute("INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   (cid, f"sig-{cid}", "st", "main", "binance", symbol, "buy", "market", "1", None,
                    "GTC", "100", None, T0.isoformat(), "FILLED", "11", "1", T0.isoformat()))
        db.execute("INSERT INTO transitions (client_order_id, from_status, to_status, ts, reason)"
                   " VALUES (?,?,?,?,?)", (cid, "PENDING", "SUBMITTED", T0.isoformat(), "sending"))
    fills = [("binance", "9", "c-1", "main", "BTC/USDT", "buy", "100.5", "0.6", "0.0006", "BTC",
              "taker", (T0 + timedelta(seconds=2)).isoformat()),
             ("binance", "3", "c-1", "main", "BTC/USDT", "buy", "100.25", "0.4", "0.0004", "BTC",
              "maker", (T0 + timedelta(seconds=1)).isoformat()),
             ("binance", "5", "c-2", "main", "ETH/USDT", "buy", "20", "1", "0.00075", "BNB",
              "taker", T0.isoformat())]
    db.executemany("INSERT INTO fills VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", fills)
    db.execute("INSERT INTO adopted_positions VALUES (?,?,?,?,?,?)",
               ("binance", "main", "BNB/USDT", "2", "600", T0.isoformat()))
    db.commit()
    db.close()
    return fills


def test_a_v2_journal_with_data_migrates_to_v3_keeping_every_row_in_order(path):
    fills = _v2_journal_with_data(path)
    journal = OrderJournal(path)
    try:
        assert journal.schema_version == SCHEMA_VERSION >= 3  # through v3, to the latest
        assert [tuple(f.values()) for f in journal.fills_in_order()] == fills
        assert [o["client_order_id"] for o in journal.open_orders()] == []
        assert journal.order_status("c-2") == "FILLED"
        assert len(journal.transitions("c-1")) == len(journal.transitions("c-2")) == 1
        assert [a["symbol"] for a in journal.adopted_positions()] == ["BNB/USDT"]
        # The new key: the same trade ID on another symbol is another fill; on the same
        # symbol it is still the one stored.
        assert journal.record_fill(_fill("9", venue="binance", cid="c-2", symbol="ETH/USDT"))
        assert not journal.record_fill(_fill("9", venue="binance", cid="c-1"))
    finally:
        journal.close()
    reopened = OrderJournal(path)  # migrated once: a second open changes nothing
    try:
        assert reopened.schema_version == SCHEMA_VERSION and len(reopened.fills()) == 4
    finally:
        reopened.close()


def test_a_journal_with_neither_orders_nor_adoptions_is_empty_and_one_with_either_is_not(path):
    journal = OrderJournal(path)
    assert journal.is_empty()
    journal.record_adopted_position("sim", "main", "BTC/USDT", Decimal("0.5"), Decimal("42000"), T0)
    assert not journal.is_empty()
    journal.close()
    reopened = OrderJournal(path)
    try:
        assert not reopened.is_empty()
        [row] = reopened.adopted_positions()
        assert (row["symbol"], Decimal(row["quantity"]), Decimal(row["mark"])) == ("BTC/USDT", Decimal("0.5"), Decimal("42000"))
    finally:
        reopened.close()
    other = OrderJournal(path.with_name("other.sqlite"))
    try:
        other.insert_order(_order())
        assert not other.is_empty()
    finally:
        other.close()


# ---------------------------------------------------------------- post-only (v6)


def _old_journal_with_an_open_order(path, version: int, *newer_columns: object) -> None:
    """A journal as ordergate wrote it at schema `version`: one order working at the venue,
    with the v1 columns and then `newer_columns` (v6's post_only, ...)."""
    from ordergate.journal.schema import MIGRATIONS

    row = ("c-old", "sig-old", "st", "main", "sim", "BTC/USDT", "buy", "limit", "0.5",
           "100.25", "GTC", "100.3", None, T0.isoformat(), "ACCEPTED", "sim-1", "0",
           T0.isoformat(), *newer_columns)
    db = sqlite3.connect(path)
    db.executescript(";".join(MIGRATIONS[v] for v in range(1, version + 1)))
    db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(version),))
    db.execute(f"INSERT INTO orders VALUES ({','.join('?' * len(row))})", row)
    db.commit()
    db.close()


def _v5_journal_with_an_open_order(path):
    """Before post-only existed."""
    _old_journal_with_an_open_order(path, 5)


def test_a_v5_journal_migrates_to_v6_and_its_orders_are_not_post_only(path):
    from ordergate.recovery import order_from_row

    _v5_journal_with_an_open_order(path)
    journal = OrderJournal(path)
    try:
        assert journal.schema_version == SCHEMA_VERSION >= 6
        (row,) = journal.open_orders()
        assert row["client_order_id"] == "c-old" and row["post_only"] == 0
        assert order_from_row(row, []).post_only is False
        assert journal.insert_order(_order("c-new", post_only=True, time_in_force=TimeInForce.GTC,
                                           expires_at=None))
        journal.commit()
    finally:
        journal.close()
    reopened = OrderJournal(path)  # migrated once: the second open keeps both as they were
    try:
        rows = {r["client_order_id"]: r for r in reopened.open_orders()}
        assert {cid: r["post_only"] for cid, r in rows.items()} == {"c-old": 0, "c-new": 1}
        assert order_from_row(rows["c-new"], []).post_only is True
    finally:
        reopened.close()


def test_post_only_survives_a_restart_in_the_order_row(path):
    from ordergate.recovery import order_from_row

    journal = OrderJournal(path)
    try:
        journal.insert_order(_order("c-po", post_only=True))
        journal.insert_order(_order("c-plain"))
        journal.commit()
    finally:
        journal.close()
    reopened = OrderJournal(path)
    try:
        flags = {r["client_order_id"]: order_from_row(r, []).post_only
                 for r in reopened.open_orders()}
    finally:
        reopened.close()
    assert flags == {"c-po": True, "c-plain": False}


# ---------------------------------------------------------------- stop orders (v7)


def _v6_journal_with_an_open_order(path):
    """Before stop orders: a post-only order."""
    _old_journal_with_an_open_order(path, 6, 1)


def test_a_v6_journal_migrates_to_v7_and_its_orders_have_no_trigger(path):
    from ordergate.recovery import order_from_row

    _v6_journal_with_an_open_order(path)
    journal = OrderJournal(path)
    try:
        assert journal.schema_version == SCHEMA_VERSION >= 7
        (row,) = journal.open_orders()
        assert row["client_order_id"] == "c-old" and row["trigger_price"] is None
        old = order_from_row(row, [])
        assert (old.trigger_price, old.post_only, old.order_type) == (None, True, OrderType.LIMIT)
        assert journal.insert_order(_order("c-new", order_type=OrderType.STOP_LIMIT,
                                           trigger_price=Decimal("99.50")))
        journal.commit()
    finally:
        journal.close()
    reopened = OrderJournal(path)  # migrated once: the second open keeps both as they were
    try:
        rows = {r["client_order_id"]: r for r in reopened.open_orders()}
        assert {cid: r["trigger_price"] for cid, r in rows.items()} == {
            "c-old": None, "c-new": "99.50"}
        new = order_from_row(rows["c-new"], [])
        assert (new.order_type, new.trigger_price) == (OrderType.STOP_LIMIT, Decimal("99.50"))
    finally:
        reopened.close()


# ---------------------------------------------------------------- open orders' index (v11)


def test_a_v10_journal_migrates_to_v11_and_still_finds_its_open_orders_by_the_index(path):
    from ordergate.journal.schema import NOT_TERMINAL

    _old_journal_with_an_open_order(path, 10, 0, None, None, "primary", 0, 0)
    journal = OrderJournal(path)
    try:
        assert journal.schema_version == SCHEMA_VERSION >= 11
        (row,) = journal.open_orders()
        assert row["client_order_id"] == "c-old" and row["status"] == "ACCEPTED"
        (index_sql,) = journal._db.execute(
            "SELECT sql FROM sqlite_master WHERE name='orders_open'").fetchone()
        assert NOT_TERMINAL in index_sql and " IN " not in index_sql
        journal.insert_order(_order("c-new"))
        journal.commit()
        assert {r["client_order_id"] for r in journal.open_orders()} == {"c-old", "c-new"}
    finally:
        journal.close()


# ---------------------------------------------------------------- lineage and parents (v8)


def test_a_v7_journal_migrates_to_v8_and_its_orders_are_a_signals_own(path):
    from ordergate.domain.values import OrderRole
    from ordergate.recovery import order_from_row

    _old_journal_with_an_open_order(path, 7, 0, None)
    journal = OrderJournal(path)
    try:
        assert journal.schema_version == SCHEMA_VERSION >= 8
        (row,) = journal.open_orders()
        old = order_from_row(row, [])
        assert (old.parent_id, old.role, old.leg, old.reduce_only) == (
            None, OrderRole.PRIMARY, 0, False)
        assert journal.active_parents("bracket") == []
    finally:
        journal.close()


def test_an_orders_lineage_and_its_parent_survive_a_restart(path):
    from ordergate.domain.values import OrderRole
    from ordergate.recovery import order_from_row

    journal = OrderJournal(path)
    try:
        journal.insert_order(_order("c-entry"))
        assert journal.insert_parent("c-entry", "bracket", "sig-c-entry", '{"stop_loss": "90"}', T0)
        assert not journal.insert_parent("c-entry", "bracket", "sig-c-entry", "{}", T0)  # once
        journal.insert_order(_order("c-sl", parent_id="c-entry", role=OrderRole.STOP_LOSS, leg=2,
                                    reduce_only=True, side=Side.SELL))
        journal.commit()
    finally:
        journal.close()
    reopened = OrderJournal(path)
    try:
        (parent,) = reopened.active_parents("bracket")
        assert (parent["parent_id"], parent["spec"]) == ("c-entry", '{"stop_loss": "90"}')
        (child,) = reopened.children("c-entry")
        exit_ = order_from_row(child, [])
        assert (exit_.parent_id, exit_.role, exit_.leg, exit_.reduce_only) == (
            "c-entry", OrderRole.STOP_LOSS, 2, True)
        reopened.set_parent_status("c-entry", "done", T0 + timedelta(seconds=1))
        assert reopened.active_parents("bracket") == []
        assert reopened.parent("c-entry")["status"] == "done"
    finally:
        reopened.close()


def test_child_client_order_ids_are_derived_and_distinct_per_role_and_leg():
    from ordergate.pipeline.client_order_id import child_client_order_id

    ids = {child_client_order_id("og-entry", role, leg)
           for role in ("stop_loss", "take_profit", "amendment") for leg in range(3)}
    assert len(ids) == 9
    assert child_client_order_id("og-entry", "stop_loss", 1) == child_client_order_id(
        "og-entry", "stop_loss", 1)
    assert all(len(i) == 32 and i.isalnum() for i in ids)


# ---------------------------------------------------------------- idempotency keys (v4)


def test_an_idempotent_answer_survives_a_reopen_until_it_is_older_than_asked(path):
    t0 = datetime(2026, 1, 2, tzinfo=UTC)
    journal = OrderJournal(path)
    journal.store_idempotent_answer("order", "bot", "k-1", "fp", 201, '{"a": 1}', t0)
    journal.close()
    journal = OrderJournal(path)
    try:
        assert journal.idempotent_answer("order", "bot", "k-1", t0) == ("fp", 201, '{"a": 1}')
        assert journal.idempotent_answer("order", "other", "k-1", t0) is None  # per owner
        # a fraction-less time sorts right against one with microseconds
        assert journal.idempotent_answer("order", "bot", "k-1",
                                         t0 + timedelta(microseconds=1)) is None
        assert journal.purge_idempotency_keys(t0) == 0
        assert journal.purge_idempotency_keys(t0 + timedelta(seconds=1)) == 1
        assert journal.idempotent_answer("order", "bot", "k-1", t0 - timedelta(days=1)) is None
    finally:
        journal.close()


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9998, 12, 31),
                    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                                               timezone(timedelta(hours=-11))])))
def test_a_stored_answers_time_is_written_as_journals_before_wrote_it(ts):
    """Keys stored by an earlier ordergate are compared as text with the times written
    now: the format must not move by a character (fixed width, UTC, `Z`)."""
    assert _sortable(ts) == ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_one_orders_transitions_fills_and_venue_id_lookup_use_an_index_not_a_scan(journal):
    """The HTTP API reads these for every answer: a scan would cost more with every order
    the journal has ever held."""
    journal.insert_order(_order())
    journal.record_fill(_fill())
    journal.commit()
    statements: list[str] = []
    journal._db.set_trace_callback(statements.append)
    journal.transitions("c-1")
    journal.fills("c-1")
    journal.client_order_id_for_venue_id("v-1")
    journal._db.set_trace_callback(None)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 3
    for sql in reads:
        plan = " ".join(row[-1] for row in journal._db.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "INDEX" in plan and not plan.startswith("SCAN"), (sql, plan)


def _indexes(path):
    other = sqlite3.connect(path)
    try:
        return {r[0] for r in other.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    finally:
        other.close()


def test_a_backtests_journal_builds_its_lookup_indexes_at_close_not_on_every_insert(path):
    from ordergate.journal.schema import LOOKUP_INDEXES

    OrderJournal(path).close()  # an existing journal, with the indexes
    assert set(LOOKUP_INDEXES) <= _indexes(path)
    journal = OrderJournal(path, durable=False, deferred_indexes=True)
    assert not set(LOOKUP_INDEXES) & _indexes(path)  # none kept up to date while it runs
    journal.insert_order(_order())
    journal.record_fill(_fill())
    journal.close()
    assert set(LOOKUP_INDEXES) <= _indexes(path)
    reopened = OrderJournal(path)
    assert [f["trade_id"] for f in reopened.fills("c-1")] == ["t-1"]
    reopened.close()
