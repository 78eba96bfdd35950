"""Refusals are found by their bytes and only those lines are decoded; a torn or
malformed line is counted, never fatal, and a line across a read block is still found."""

from pathlib import Path

import pytest

from ordergate.views.report import refusals
from ordergate.views.report.refusals import scan_refusals
from ordergate.views.report.timeline import micros_of

T0 = micros_of("2026-01-02T00:00:00+00:00")
EDGES = [T0, T0 + 60_000_000]


def deny(ts: str, code: str, handler: str = "risk") -> str:
    return (f'{{"ts":"{ts}","event":"handler_verdict","signal_id":"s","client_order_id":null,'
            f'"handler":"{handler}","decision":"deny","reason":"r","code":"{code}"}}')


def test_a_torn_last_line_and_a_malformed_one_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes((deny("2026-01-02T00:00:01+00:00", "WEAK_SIGNAL") + "\n"
                      + '{"ts":"bad","event":"handler_verdict","decision":"deny"}\n'
                      + deny("2026-01-02T00:01:30+00:00", "PRICE_BAND")[:-12]).encode())
    found = scan_refusals(path, EDGES)
    assert found.per_code == {"WEAK_SIGNAL": [1, 0]}
    assert found.unreadable == 2


def test_admits_and_other_events_are_not_refusals(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = [deny("2026-01-02T00:00:01+00:00", "WEAK_SIGNAL").replace('"deny"', '"admit"'),
             '{"ts":"2026-01-02T00:00:02+00:00","event":"order_transition","decision":"deny"}',
             deny("2026-01-02T00:01:02+00:00", "STALE_SIGNAL")]
    path.write_text("\n".join(lines) + "\n")
    assert scan_refusals(path, EDGES).per_code == {"STALE_SIGNAL": [0, 1]}


def test_lines_across_read_blocks_are_each_found_once(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refusals, "BLOCK", 37)  # shorter than a line: every line is split
    path = tmp_path / "audit.jsonl"
    path.write_text("".join(deny(f"2026-01-02T00:00:{i:02d}+00:00", "WEAK_SIGNAL") + "\n"
                            for i in range(50)))
    found = scan_refusals(path, EDGES)
    assert found.per_code == {"WEAK_SIGNAL": [50, 0]} and found.unreadable == 0


def test_an_empty_log_has_no_refusals(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"")
    assert scan_refusals(path, EDGES).per_code == {}
