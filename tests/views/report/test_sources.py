"""A directory that is not a whole replay output is refused with the file it lacks named,
before any work: a report with a silently empty chart would mislead."""

import json
import sqlite3
from pathlib import Path

import pytest

from ordergate.views.report import ReportError, write_report
from ordergate.views.report.sources import REQUIRED


@pytest.mark.parametrize("name", [*REQUIRED, "manifest.json"])
def test_a_missing_file_is_named(demo_copy: Path, name: str) -> None:
    (demo_copy / name).unlink()
    with pytest.raises(ReportError, match=name.replace(".", r"\.")):
        write_report(demo_copy)
    assert not (demo_copy / "report.html").exists()


def test_a_directory_that_does_not_exist_is_named(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="not a directory"):
        write_report(tmp_path / "nowhere")


def test_a_summary_that_is_not_json_is_named(demo_copy: Path) -> None:
    (demo_copy / "summary.json").write_text('{"fills": 3', encoding="utf-8")
    with pytest.raises(ReportError, match=r"summary\.json: unreadable"):
        write_report(demo_copy)


def test_a_journal_that_is_not_sqlite_is_named(demo_copy: Path) -> None:
    (demo_copy / "journal.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(ReportError, match=r"journal\.sqlite: not a readable journal"):
        write_report(demo_copy)


def test_a_journal_without_fills_table_is_named(demo_copy: Path) -> None:
    with sqlite3.connect(demo_copy / "journal.sqlite") as db:
        db.execute("DROP TABLE fills")
    with pytest.raises(ReportError, match="no fills table"):
        write_report(demo_copy)


def test_quotes_gone_since_the_replay_are_named_with_the_way_out(demo_copy: Path) -> None:
    manifest = json.loads((demo_copy / "manifest.json").read_text())
    manifest["market"] = str(demo_copy / "moved.csv")
    (demo_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ReportError, match=r"moved\.csv.*--market"):
        write_report(demo_copy)
    assert write_report(demo_copy, Path(json.loads(
        (demo_copy / "manifest.json").read_text())["signals"]).with_name("demo_quotes.csv")).is_file()


def test_quotes_changed_since_the_replay_are_warned_about_in_the_report(demo_copy: Path) -> None:
    manifest = json.loads((demo_copy / "manifest.json").read_text())
    manifest["market_bytes"] += 1
    (demo_copy / "manifest.json").write_text(json.dumps(manifest))
    html = write_report(demo_copy).read_text(encoding="utf-8")
    assert 'class="warn"' in html and "may not be the ones the replay traded against" in html


def test_summary_and_journal_of_different_runs_are_refused(demo_copy: Path) -> None:
    summary = json.loads((demo_copy / "summary.json").read_text())
    summary["fills"] += 1
    (demo_copy / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(ReportError, match="different runs"):
        write_report(demo_copy)
