"""`ordergate report OUT`, `ordergate replay ... --report` and `ordergate demo` (the CLI
lives in cli.py; its report commands are tested here, beside the report)."""

import json
from pathlib import Path

from typer.testing import CliRunner

from ordergate.cli import app

DATA = Path(__file__).resolve().parents[3] / "src" / "ordergate" / "data"


def test_report_of_a_directory_without_a_journal_names_it(demo_copy: Path) -> None:
    (demo_copy / "journal.sqlite").unlink()
    result = CliRunner().invoke(app, ["report", str(demo_copy)])
    assert result.exit_code == 2
    assert "journal.sqlite: missing" in result.output


def test_report_rebuilds_report_html(demo_copy: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(demo_copy)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(demo_copy / "report.html")
    assert (demo_copy / "report.html").stat().st_size > 1_000_000  # plotly.js is inside


def test_replay_with_report_keeps_stdout_the_summary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "replay", "--signals", str(DATA / "demo_signals.jsonl"), "--market",
        str(DATA / "demo_quotes.csv"), "--config", str(DATA / "demo.toml"), "--out", str(out),
        "--report"])
    assert result.exit_code == 0, result.output
    assert (out / "report.html").is_file()
    assert json.loads(result.stdout)["signals_total"] == 320
    assert f"report: {out / 'report.html'}" in result.stderr


def test_demo_writes_the_report_and_says_where(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "demo" / "report.html").is_file()
    assert f"Report (open in a browser): {tmp_path / 'demo' / 'report.html'}" in result.output
