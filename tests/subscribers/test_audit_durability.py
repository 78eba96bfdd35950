"""The audit lines that explain an order are durable before it leaves, through the
journal's commit: a send waits for one fsync (the WAL's), the audit file is fsync'ed in
the background, and what a power loss takes from the file's end is written again from
the journal at the next start."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordergate.journal.order_journal import OrderJournal
from ordergate.subscribers import audit_durability
from ordergate.subscribers.audit_durability import restore_audit
from ordergate.testing.scenario import Scenario

LOOP = threading.main_thread


def _rows(journal: Path) -> list[tuple[int, int, str]]:
    """The rows as another process would read them: what is committed."""
    with sqlite3.connect(journal) as db:
        return [(int(i), int(e), str(t)) for i, e, t in
                db.execute("SELECT inode, end_offset, text FROM audit_unsynced ORDER BY seq")]


def _no_background_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the audit file's fsync never came before the power went: every row stays."""
    monkeypatch.setattr(audit_durability, "sync_file", lambda path: None)


async def _crash_snapshot(tmp: Path, into: Path, signals: int) -> bytes:
    """Run `signals` decisions and copy the journal and the audit file as they stand while
    the last order is being sent (its barrier done): what a power loss then could find.
    Returns the audit file's bytes at that moment."""
    seen: dict[str, bytes] = {}
    async with Scenario(tmp) as s:
        real = s.venue.place_order

        async def place(request: Any) -> Any:  # the last send's moment is the one kept
            for name in ("journal.sqlite", "journal.sqlite-wal"):
                shutil.copy(tmp / name, into / name)
            seen["audit"] = (tmp / "audit.jsonl").read_bytes()
            return await real(request)

        s.venue.place_order = place  # type: ignore[method-assign]
        for n in range(1, signals + 1):
            assert (await s.submit(signal_id=f"s-{n}")).admitted
    (into / "audit.jsonl").write_bytes(seen["audit"])
    return seen["audit"]


# ---------------------------------------------------------------- what a send waits for


async def test_a_send_waits_for_the_wals_fsync_alone_and_its_lines_are_committed_with_it(
        tmp_path, monkeypatch):
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        if threading.current_thread() is LOOP():
            synced.append(os.path.basename(os.readlink(f"/proc/self/fd/{fd}")))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    async with Scenario(tmp_path) as s:
        at_send: list[tuple[list[str], str]] = []
        place = s.venue.place_order

        async def watched(request: Any) -> Any:
            at_send.append((list(synced), "".join(t for _, _, t in _rows(tmp_path / "journal.sqlite"))))
            return await place(request)

        s.venue.place_order = watched  # type: ignore[method-assign]
        synced.clear()
        assert (await s.submit(signal_id="s-1")).admitted
    [(fsyncs, kept)] = at_send
    assert fsyncs == ["journal.sqlite-wal"]
    assert '"event":"signal_received","signal_id":"s-1"' in kept
    assert '"decision":"SUBMITTED"' in kept


async def test_the_background_fsync_lets_the_rows_go(tmp_path):
    async with Scenario(tmp_path) as s:
        for n in range(1, 4):
            assert (await s.submit(signal_id=f"s-{n}")).admitted
            while s.engine.audit._syncer.durable is None or (  # type: ignore[union-attr]
                    s.engine.audit._syncer.durable[1] < (tmp_path / "audit.jsonl").stat().st_size):  # type: ignore[union-attr]
                await asyncio.sleep(0.01)
        assert (await s.submit(signal_id="s-4")).admitted
        # s-4's barrier dropped what the file had on disk: only its own text is left
        [(_, _, text)] = _rows(tmp_path / "journal.sqlite")
        assert '"signal_id":"s-4"' in text and '"signal_id":"s-2"' not in text


# ---------------------------------------------------------------- after a power loss
# A power loss leaves the audit file where it was (same inode) with its end cut or torn;
# the journal's rows name the file by its inode, so the cases below rewrite the run's own
# audit file in place and restore from a copy of its journal.


class Snapshot:
    def __init__(self, run: Path, journal: Path, audit: bytes) -> None:
        self.audit_path = run / "audit.jsonl"
        self.journal = journal
        self.audit = audit
        self.cases = 0

    def case(self, into: Path, audit: bytes) -> list[tuple[int, int, str]]:
        """The audit file as given, in place, and the journal's rows from a fresh copy."""
        self.cases += 1
        here = into / f"case-{self.cases}"
        shutil.copytree(self.journal, here)
        self.audit_path.write_bytes(audit)  # in place: the inode stays
        journal = OrderJournal(here / "journal.sqlite")
        try:
            return journal.audit_rows()
        finally:
            journal.close()


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> Snapshot:
    monkeypatch = pytest.MonkeyPatch()
    _no_background_sync(monkeypatch)
    try:
        run = tmp_path_factory.mktemp("run")
        at = tmp_path_factory.mktemp("snapshot")
        audit = asyncio.run(_crash_snapshot(run, at, signals=4))
    finally:
        monkeypatch.undo()
    return Snapshot(run, at, audit)


def test_a_file_that_lost_nothing_is_left_as_it_is(snapshot, tmp_path):
    rows = snapshot.case(tmp_path, snapshot.audit)
    assert rows and rows[-1][1] == len(snapshot.audit)  # the rows run to the file's end
    assert restore_audit(snapshot.audit_path, rows) == 0
    assert snapshot.audit_path.read_bytes() == snapshot.audit


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_file_cut_anywhere_and_torn_gets_back_every_byte_of_the_rows(snapshot, tmp_path, data):
    audit = snapshot.audit
    rows = snapshot.case(tmp_path, audit)
    first = rows[0][1] - len(rows[0][2].encode())  # before it, the file was fsync'ed
    cut = data.draw(st.one_of(st.just(len(audit)), st.integers(first, len(audit))), label="cut")
    torn = data.draw(st.sampled_from([b"", b"\0" * 4096, b'{"ts":"2026-01-02T00:0']), label="torn")
    snapshot.audit_path.write_bytes(audit[:cut] + torn)
    restored = restore_audit(snapshot.audit_path, rows)
    assert snapshot.audit_path.read_bytes() == audit
    assert (restored > 0) == (cut < len(audit))


def test_whole_lines_after_the_last_row_stay_and_a_torn_one_goes(snapshot, tmp_path):
    audit = snapshot.audit
    later = b'{"event":"order_filled"}\n'  # written after the last send: not in any row
    rows = snapshot.case(tmp_path, audit + later + later[:9])
    assert restore_audit(snapshot.audit_path, rows) == 0
    assert snapshot.audit_path.read_bytes() == audit + later


def test_a_file_the_rows_do_not_name_is_never_touched(snapshot, tmp_path):
    rows = snapshot.case(tmp_path, snapshot.audit)
    other = tmp_path / "audit.jsonl"  # a copy, rotated and compressed, or a new file
    other.write_bytes(snapshot.audit[:100])
    assert restore_audit(other, rows) == 0
    assert other.read_bytes() == snapshot.audit[:100]


async def test_the_next_start_restores_the_file_and_forgets_the_rows(snapshot, tmp_path):
    audit = snapshot.audit
    lost = audit.rindex(b'"event":"signal_received","signal_id":"s-3"')
    snapshot.case(tmp_path, audit[:lost])  # s-3 and s-4 lost their lines
    run = snapshot.audit_path.parent
    for name in ("journal.sqlite", "journal.sqlite-wal"):
        shutil.copy(snapshot.journal / name, run / name)
    async with Scenario(run) as s:
        assert s.engine.journal.audit_rows() == []
        assert snapshot.audit_path.read_bytes()[:len(audit)] == audit
        # then recovery finds s-4 journaled, its send cut short, and follows it up
        assert [line["signal_id"] for line in s.audit()][:len(audit.splitlines())] == [
            line["signal_id"] for line in map(json.loads, audit.splitlines())]


# ---------------------------------------------------------------- rotation


async def test_a_rotation_fsyncs_the_file_it_leaves_and_its_rows_go(tmp_path, monkeypatch):
    _no_background_sync(monkeypatch)
    synced: set[int] = set()
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.add(os.fstat(fd).st_ino), real(fd))[1])
    inodes: set[int] = set()
    async with Scenario(tmp_path, audit_rotation="3 KB") as s:
        for n in range(1, 9):
            assert (await s.submit(signal_id=f"s-{n}")).admitted
            inodes.add((tmp_path / "audit.jsonl").stat().st_ino)
        assert len(inodes) > 2  # it rotated, more than once
        current = (tmp_path / "audit.jsonl").stat().st_ino
        assert {inode for inode, _, _ in _rows(tmp_path / "journal.sqlite")} == {current}
        assert inodes - {current} <= synced
