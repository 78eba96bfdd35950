"""Live, the audit sink writes a batch to the file itself and leaves to loguru only the
batch that would take the file past its rotation size: the files come out byte for byte
as loguru alone writes them, and loguru is asked for little but the rotations."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from loguru import logger
from loguru._string_parsers import parse_size

from ordergate.clock import SimulatedClock
from ordergate.config import AuditSettings
from ordergate.subscribers.audit_rotation import size_limit
from ordergate.subscribers.audit_sink import AuditSink
from ordergate.testing.scenario import Scenario

T0 = datetime(2026, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize("rotation", ["100 MB", "3 KB", "1 GiB", "800 B", "2.5 kB", "1e3 B",
                                      "12 Kib", "64 b", "7B", " 5 MB ", "1 TB"])
def test_a_size_is_read_as_loguru_reads_it(rotation):
    assert size_limit(rotation) == int(parse_size(rotation.strip()))


@pytest.mark.parametrize("rotation", ["00:00", "1 day", "12:30", "1 week", "sunday", "daily"])
def test_a_rotation_by_time_is_left_to_loguru(rotation):
    assert size_limit(rotation) is None


def test_no_rotation_is_no_limit(tmp_path):
    sink = AuditSink(AuditSettings(path=tmp_path / "audit.jsonl", rotation=None),
                     SimulatedClock(T0))
    try:
        assert sink._limit == sys.maxsize
    finally:
        sink.close()


def _files(directory: Path) -> list[bytes]:
    """The audit files' bytes, oldest first: loguru names a rotated file by its time."""
    rotated = sorted(p for p in directory.glob("audit.*.jsonl"))
    return [p.read_bytes() for p in [*rotated, directory / "audit.jsonl"]]


async def _run(directory: Path, signals: int) -> tuple[list[bytes], int]:
    """Decisions through a live scenario whose audit file rotates at 12 KB: the files, and
    how many batches loguru was handed."""
    handed: list[int] = []
    watch = logger.add(lambda message: handed.append(1), level="INFO",
                       filter=lambda record: "ordergate_audit" in record["extra"])
    try:
        async with Scenario(directory, audit_rotation="12 KB") as s:
            for n in range(1, signals + 1):
                assert (await s.submit(signal_id=f"s-{n}")).admitted
    finally:
        logger.remove(watch)
    return _files(directory), len(handed)


async def test_the_files_are_as_loguru_alone_writes_them_and_it_writes_little_else(
        tmp_path, monkeypatch):
    files, handed = await _run(tmp_path / "direct", 30)
    with monkeypatch.context() as m:
        m.setattr(AuditSink, "_append", lambda self, text: False)  # loguru every batch
        alone, every = await _run(tmp_path / "loguru", 30)
    assert len(files) >= 4  # it rotated, several times, a few decisions to a file
    assert [len(f) for f in files] == [len(f) for f in alone]
    assert files == alone
    assert all(len(f) <= 12_000 for f in files)
    assert every >= 30 and handed <= len(files) + 1  # loguru: each rotation, the first write


class _Rows:
    """Where a live sink keeps its unsynced text: here, nowhere."""

    def hold_audit(self, inode: int, end_offset: int, text: str) -> None:
        pass

    def drop_audit_through(self, inode: int, end_offset: int) -> None:
        pass


def test_a_file_removed_from_under_the_sink_is_left_to_loguru_and_nothing_is_lost(tmp_path):
    sink = AuditSink(AuditSettings(path=tmp_path / "audit.jsonl"), SimulatedClock(T0))
    sink.keep_in(_Rows())
    try:
        sink._write(T0, "signal_received", "s-1", None, None, "received", "first")
        sink.flush_for_sync()
        kept = os.open(tmp_path / "audit.jsonl", os.O_RDONLY)  # the file, once unlinked
        sink._appending = None  # as if never opened: it must be opened again, and cannot
        (tmp_path / "audit.jsonl").unlink()
        sink._write(T0, "signal_received", "s-2", None, None, "received", "second")
        sink.flush_for_sync()
        text = os.pread(kept, 10_000, 0).decode()
        os.close(kept)
        assert [json.loads(line)["signal_id"] for line in text.splitlines()] == ["s-1", "s-2"]
    finally:
        sink.close()
