"""Spec: a stored answer is held for the next barrier and read only once that barrier's
fsync has returned: the next send's, in the loop's next turn, or else a barrier of its
own on the loop's thread; never a second fsync where one covers it, never one that began
before its commit."""

import asyncio
import os
import sqlite3
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ordergate.bus import EventBus
from ordergate.clock import SimulatedClock
from ordergate.domain.order import Order
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.journal.order_journal import OrderJournal
from ordergate.journal.wal_sync import WalSync
from ordergate.pipeline.order_ledger import OrderLedger
from ordergate.server.idempotency import Idempotency

T0 = datetime(2026, 1, 2, tzinfo=UTC)


def _order(cid):
    return Order(client_order_id=cid, signal_id=f"sig-{cid}", strategy_id="st",
                 account_id="main", venue="sim", symbol="BTC/USDT", side=Side.BUY,
                 order_type=OrderType.MARKET, quantity=Decimal("0.001"), price=None,
                 time_in_force=TimeInForce.GTC, created_at=T0)


@pytest.fixture
def journal(tmp_path):
    journal = OrderJournal(tmp_path / "journal.sqlite")
    yield journal
    journal.close()


@pytest.fixture
def wal_fsyncs(journal, monkeypatch):
    """Every fsync of the journal's WAL, as (commits made when it began, thread name)."""
    seen: list[tuple[int, str]] = []
    real = os.fsync

    def fsync(fd):
        if os.readlink(f"/proc/self/fd/{fd}") == f"{journal.path}-wal":
            seen.append((journal.wal_sync.committed, threading.current_thread().name))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return seen


def _count(path, table):
    with sqlite3.connect(path) as other:  # what is committed, as another reader sees it
        return other.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def _answer(journal, key):
    return journal.store_idempotent_answer("signals", "bot", key, "fp", 201, "{}", T0)


# ---------------------------------------------------------------- unhappy paths


async def test_an_fsync_the_disk_refuses_reaches_every_waiter_it_leaves_uncovered(
        journal, monkeypatch):
    first, second = _answer(journal, "k-1"), _answer(journal, "k-2")

    def refused(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", refused)
    results = await asyncio.gather(journal.wal_sync.on_disk(first),
                                   journal.wal_sync.on_disk(second), return_exceptions=True)
    assert [type(r) for r in results] == [OSError, OSError]
    assert journal.wal_sync.synced < first  # nothing taken for on disk


def test_a_commit_made_while_an_fsync_is_under_way_is_not_taken_for_covered():
    sync = WalSync(lambda: None, lambda: None)
    sync.committed = 1
    through = sync.committed  # an fsync begins here...
    sync.committed = 2  # ...a commit lands in the WAL meanwhile...
    sync.synced_through(through)  # ...and the fsync returns
    assert sync.synced == 1


async def test_a_cancelled_waiter_is_let_go_and_the_others_still_woken(journal):
    first, second = _answer(journal, "k-1"), _answer(journal, "k-2")
    gone = asyncio.ensure_future(journal.wal_sync.on_disk(first))
    kept = asyncio.ensure_future(journal.wal_sync.on_disk(second))
    await asyncio.sleep(0)  # both waiting
    gone.cancel()
    await asyncio.wait_for(kept, 5)
    assert gone.cancelled() and journal.wal_sync.synced >= second


# ---------------------------------------------------------------- the wait


async def test_an_answer_alone_gets_its_own_fsync_on_the_loops_thread_one_turn_later(
        journal, wal_fsyncs):
    commit = _answer(journal, "k-1")
    await journal.wal_sync.on_disk(commit)
    assert wal_fsyncs == [(commit, threading.current_thread().name)]
    assert journal.wal_sync.synced == commit


async def test_an_answer_is_covered_by_the_next_sends_barrier_with_no_fsync_of_its_own(
        journal, wal_fsyncs):
    """As under load: the next request's decision runs in the loop's next turn and
    fsyncs the WAL before its send; the answer waiting is covered by that one."""
    ledger = OrderLedger(journal, EventBus(), SimulatedClock(T0), 60)
    commit = _answer(journal, "k-1")

    async def next_decision():
        ledger.open(_order("c-2"))
        await ledger.commit_before_send()

    waiting = asyncio.ensure_future(journal.wal_sync.on_disk(commit))
    await asyncio.sleep(0)  # the answer waits; the next decision's turn comes first
    await next_decision()
    await waiting
    assert [n for n, _ in wal_fsyncs] == [commit]  # the barrier's: its commit carried both
    assert _count(journal.path, "idempotency_keys") == _count(journal.path, "orders") == 1


async def test_a_commit_already_on_disk_is_not_waited_for(journal, wal_fsyncs):
    commit = _answer(journal, "k-1")
    journal.commit()  # a commit of its own, fsync'ed: covers the answer
    assert len(wal_fsyncs) == 1
    await journal.wal_sync.on_disk(commit)
    assert len(wal_fsyncs) == 1


async def test_a_batch_journal_commits_an_answer_at_once_with_nothing_to_wait_for(tmp_path):
    journal = OrderJournal(tmp_path / "batch.sqlite", durable=False)
    try:
        assert _answer(journal, "k-1") is None
        assert _count(journal.path, "idempotency_keys") == 1
    finally:
        journal.close()


# ---------------------------------------------------------------- through the HTTP API's keys


async def test_back_to_back_requests_are_answered_after_the_disk_with_one_fsync_each(
        journal, wal_fsyncs, monkeypatch):
    """Three requests queued on the decision lock, each deciding with a send: every
    answer is read only once its commit is on disk, and the three took four commits and
    four fsyncs (the sends', each carrying the answer before it, and the last answer's
    own barrier), not six of each."""
    ledger = OrderLedger(journal, EventBus(), SimulatedClock(T0), 60)
    idempotency = Idempotency(journal, SimulatedClock(T0), 3600, asyncio.Lock())
    commits: dict[str, int] = {}
    store = journal.store_idempotent_answer

    def stored(scope, owner, key, *rest):
        commits[key] = store(scope, owner, key, *rest)
        return commits[key]

    monkeypatch.setattr(journal, "store_idempotent_answer", stored)

    async def request(n):
        async def decide():
            ledger.open(_order(f"c-{n}"))
            await ledger.commit_before_send()
            return 201, {"n": n}

        answer, replayed = await idempotency.once("signals", "bot", f"k-{n}", "fp",
                                                  decide, ("reused", "reused"))
        assert answer == (201, {"n": n}) and not replayed
        assert journal.wal_sync.synced >= commits[f"k-{n}"]  # on disk before it is read
        return n

    assert await asyncio.gather(*(request(n) for n in range(3))) == [0, 1, 2]
    assert sorted(commits) == ["k-0", "k-1", "k-2"]
    assert len(wal_fsyncs) == 4 and journal.wal_sync.committed == 4
