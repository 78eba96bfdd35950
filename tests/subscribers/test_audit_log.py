"""The audit log's sink: its file holds decisions, never variable values of a traceback."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ordergate.bus import EventBus
from ordergate.clock import SimulatedClock
from ordergate.config import AuditSettings
from ordergate.subscribers.audit_log import AuditLog

SECRET = "s3cr3t-value-of-a-local-variable"


def _fails_with_a_secret_in_a_local() -> None:
    api_secret = SECRET
    raise RuntimeError(len(api_secret))


def test_an_exception_logged_to_the_audit_sink_shows_no_variable_values(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(EventBus(), AuditSettings(path=path), SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC)))
    audit_logger = audit._info.__self__  # type: ignore[attr-defined]  # the sink's bound logger
    try:
        _fails_with_a_secret_in_a_local()
    except RuntimeError:
        audit_logger.exception("something failed")
    audit.close()
    text = path.read_text()
    assert "something failed" in text and "RuntimeError" in text
    assert SECRET not in text
