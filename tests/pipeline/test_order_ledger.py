"""The order ledger: the one place venue reports change orders, and what it keeps in memory."""

import os
import sqlite3
import threading
from datetime import UTC, datetime
from decimal import Decimal

from ordergate.bus import EventBus
from ordergate.clock import SimulatedClock
from ordergate.domain.order import Order
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.journal.order_journal import OrderJournal
from ordergate.pipeline.order_ledger import OrderLedger
from ordergate.testing.scenario import Scenario

D = Decimal
T0 = datetime(2026, 1, 2, tzinfo=UTC)


async def test_finished_orders_leave_memory_after_the_grace_window_without_any_new_signal(tmp_path):
    async with Scenario(tmp_path, config={"reconciler": {"finished_order_grace_s": 10}}) as s:
        outcome = await s.submit(signal_id="filled")
        assert outcome.order is not None and outcome.order.status.is_terminal
        client_order_id = outcome.order.client_order_id
        await s.advance(5)
        assert s.engine.ledger.get(client_order_id) is not None  # late fills still find it
        await s.advance(6)
        assert s.engine.ledger.get(client_order_id) is None
        assert s.engine.journal.order_status(client_order_id) == "FILLED"  # the record stays



def _order(cid: str):
    return Order(cid, f"sig-{cid}", "st", "main", "sim", "BTC/USDT", Side.BUY, OrderType.MARKET,
                 D("0.1"), None, TimeInForce.IOC, T0)


def _visible(path) -> int:
    other = sqlite3.connect(path)
    try:
        return other.execute("SELECT count(*) FROM orders").fetchone()[0]
    finally:
        other.close()


async def test_the_send_barrier_commits_and_fsyncs_the_audit_and_the_wal_together(tmp_path, monkeypatch):
    journal = OrderJournal(tmp_path / "j.sqlite")
    ledger = OrderLedger(journal, EventBus(), SimulatedClock(T0), 60)
    audit = os.open(tmp_path / "audit.jsonl", os.O_WRONLY | os.O_CREAT)
    ledger.before_send.append(lambda: audit)
    synced: list[tuple[str, bool]] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append((os.path.basename(os.readlink(
        f"/proc/self/fd/{fd}")), threading.current_thread() is threading.main_thread())),
        real(fd))[1])
    assert ledger.open(_order("c-1"))
    assert _visible(journal.path) == 0
    await ledger.commit_before_send()
    assert _visible(journal.path) == 1
    # together: the audit log in a worker thread while the WAL is fsync'ed on the loop
    assert sorted(synced) == [("audit.jsonl", False), ("j.sqlite-wal", True)]
    os.close(audit)
    journal.close()


async def test_a_replays_send_barrier_commits_nothing_and_fsyncs_nothing(tmp_path, monkeypatch):
    journal = OrderJournal(tmp_path / "j.sqlite", durable=False, batch_size=100)
    ledger = OrderLedger(journal, EventBus(), SimulatedClock(T0), 60)
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(AssertionError("fsync")))
    assert ledger.open(_order("c-1"))
    await ledger.commit_before_send()
    assert _visible(journal.path) == 0  # the batch carries on
    journal.close()
    assert _visible(journal.path) == 1
