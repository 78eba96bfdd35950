"""The files of a replay's output directory the report reads, checked before any work.

The report reads `summary.json` (the counts, as the replay computed them), the journal
(orders, transitions and fills, aggregated in SQL), `audit.jsonl` (only its denials) and
the quotes file the replay ran against, for the marks. The replay records where that file
was in `manifest.json`; a directory from before the manifest, or one moved to another
machine, names the quotes with `--market`. A missing or unreadable file is named, never
skipped: a report with a silently empty chart would be worse than none.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REQUIRED = ("summary.json", "journal.sqlite", "audit.jsonl")
JOURNAL_TABLES = ("orders", "transitions", "fills")


class ReportError(Exception):
    """The replay's output cannot be reported on; the message names the file and why."""


@dataclass(frozen=True, slots=True)
class ReplayFiles:
    out_dir: Path
    summary: dict[str, Any]
    journal: Path
    audit: Path
    market: Path
    warnings: tuple[str, ...]
    """Shown at the top of the report: things that make it less trustworthy, not broken."""


def locate(out_dir: Path, market: Path | None = None) -> ReplayFiles:
    """Check that `out_dir` holds a replay's files and find its quotes file."""
    if not out_dir.is_dir():
        raise ReportError(f"{out_dir}: not a directory (give the replay's --out directory)")
    for name in REQUIRED:
        if not (out_dir / name).is_file():
            raise ReportError(f"{out_dir / name}: missing; is {out_dir} a replay's output "
                              "directory? (ordergate replay ... --out DIR writes it)")
    summary = _json_object(out_dir / "summary.json")
    warnings: list[str] = []
    if market is None:
        market, warning = _market_from_manifest(out_dir)
        if warning:
            warnings.append(warning)
    if not market.is_file():
        raise ReportError(f"{market}: the quotes file of this replay is missing (the marks for "
                          "mark-to-market PnL come from it); name it with --market PATH")
    return ReplayFiles(out_dir, summary, out_dir / "journal.sqlite", out_dir / "audit.jsonl",
                       market, tuple(warnings))


def _json_object(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: unreadable: {exc}") from None
    if not isinstance(value, dict):
        raise ReportError(f"{path}: expected a JSON object, found {type(value).__name__}")
    return value


def _market_from_manifest(out_dir: Path) -> tuple[Path, str | None]:
    path = out_dir / "manifest.json"
    if not path.is_file():
        raise ReportError(f"{path}: missing (replays write it to say where their quotes "
                          "were); name the quotes file with --market PATH")
    manifest = _json_object(path)
    market = manifest.get("market")
    if not isinstance(market, str):
        raise ReportError(f"{path}: no 'market' path in it; name the quotes file with --market")
    found = Path(market)
    expected = manifest.get("market_bytes")
    if found.is_file() and isinstance(expected, int) and found.stat().st_size != expected:
        return found, (f"{found} is {found.stat().st_size} bytes now, {expected} when replayed: "
                       "the marks may not be the ones the replay traded against")
    return found, None


def open_journal(path: Path) -> sqlite3.Connection:
    """The journal, read-only (a report never changes a replay's record)."""
    wal = path.with_name(path.name + "-wal")
    # immutable: no -shm or -wal is created beside a finished replay's journal; not when a
    # WAL holds pages (a run that stopped uncleanly), which only a normal open reads
    finished = not wal.exists() or wal.stat().st_size == 0
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro{'&immutable=1' if finished else ''}",
                             uri=True)
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise ReportError(f"{path}: not a readable journal: {exc}") from None
    missing = [table for table in JOURNAL_TABLES if table not in names]
    if missing:
        db.close()
        raise ReportError(f"{path}: no {', '.join(missing)} table(s): not an ordergate journal")
    return db
